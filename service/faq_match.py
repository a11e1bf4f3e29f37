"""Matches a question against every curated FAQ entry (standard question and variants).

Ranking fuses dense similarity (the best question of an entry and the entry's centroid) with a
character-bigram BM25 over all questions of the entry. Confidence rests on the dense similarities
and on how much of the question's wording the FAQ collection knows at all.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from indexer.models import FaqEntry
from indexer.store import LoadedIndex
from indexer.textnorm import normalize
from indexer.tokenize import char_tokens, tokenize
from service.clarify_model import Signals, cosine, length_signal, relative_margin
from service.confidence import calibrate, coverage
from service.query import QueryRep, expand
from service.tuning import Tuning


@dataclass(frozen=True)
class FaqHit:
    entry: FaqEntry
    score: float


@dataclass(frozen=True)
class FaqResult:
    hits: list[FaqHit]  # best first, at most ``candidates``
    raw: float
    confidence: float
    # What tells the top entry from its neighbours (service/clarify_model.py FAQ_FEATURES).
    signals: Mapping[str, float] = field(default_factory=dict)


class EntryWords:
    """Each entry's words (its questions with the documents' wording of colloquial terms) and
    their IDF over the entries, for telling which of two close entries the question's own words
    point at."""

    def __init__(self, entries: Sequence[FaqEntry]) -> None:
        self.words = [
            frozenset(w for q in e.questions for w in tokenize(expand(normalize(q))))
            for e in entries
        ]
        counts: dict[str, int] = {}
        for words in self.words:
            for w in words:
                counts[w] = counts.get(w, 0) + 1
        n = max(len(entries), 1)
        self.idf = {w: math.log(1 + n / c) for w, c in counts.items()}


class FaqMatcher:
    def __init__(self, index: LoadedIndex, tuning: Tuning) -> None:
        self.tuning = tuning
        self.entries = list(index.faqs.values())
        position = {e.id: i for i, e in enumerate(self.entries)}
        self.row_entry = np.array([position[q.faq_id] for q in index.faq_questions], dtype=np.int64)
        # The index lists an entry's questions together: each entry is one run of rows.
        if np.any(np.diff(self.row_entry) < 0) or len(np.unique(self.row_entry)) != len(
            self.entries
        ):
            raise ValueError("FAQ questions are not grouped by entry in the index")
        self.row_starts = np.flatnonzero(np.r_[True, np.diff(self.row_entry) != 0])
        self.vectors = index.faq_vectors
        self.keywords = index.faq_keywords
        dim = index.faq_vectors.vectors.shape[1] if len(index.faq_vectors) else 1
        centroids = np.zeros((len(self.entries), dim), dtype=np.float32)
        if len(self.row_entry):
            np.add.at(centroids, self.row_entry, index.faq_vectors.vectors)
        norms = np.linalg.norm(centroids, axis=1, keepdims=True)
        self.centroids = centroids / np.maximum(norms, 1e-12)
        # Cutting every FAQ question into words is most of this matcher's loading, and only the
        # word margin needs it: built when a question first needs that signal (a clarify model
        # that uses it, or a trace), once, whichever thread gets there first.
        self._entry_words: EntryWords | None = None
        self._entry_words_lock = threading.Lock()

    def entry_words(self) -> EntryWords:
        built = self._entry_words
        if built is None:
            with self._entry_words_lock:
                if self._entry_words is None:
                    self._entry_words = EntryWords(self.entries)
                built = self._entry_words
        return built

    def match(self, query: QueryRep, *, limit: int = 10) -> FaqResult:
        if not self.entries:
            return FaqResult([], 0.0, 0.0)
        row_cos = self.vectors.all_scores(query.vector)
        best_row = np.maximum.reduceat(row_cos, self.row_starts)
        centroid = self.centroids @ query.vector
        # The documents' wording of a colloquial term (个税 → 个人所得税) counts on the keyword
        # side too: "个税起征点" then points at the income-tax entry, not at VAT's 起征点.
        added = query.expanded[len(query.text) :].split()
        keyword = self.keywords.scores([*query.chars, *(t for a in added for t in char_tokens(a))])
        top_kw = float(keyword.max())
        w = self.tuning.faq_dense_weight
        fused = w * (best_row + centroid) / 2 + (1 - w) * (keyword / top_kw if top_kw > 0 else 0)
        order = np.argsort(-fused)[:limit]
        best = int(order[0])
        raw = float((best_row[best] + centroid[best] + self._known(query)) / 3)
        confidence = calibrate(
            raw, threshold=self.tuning.faq_threshold, scale=self.tuning.confidence_scale
        )
        hits = [FaqHit(self.entries[i], float(fused[i])) for i in order]
        second = int(order[1]) if len(order) > 1 else None
        dense = (best_row + centroid) / 2
        runner = second if second is not None else best
        signals = Signals(
            {
                "margin": relative_margin(
                    hits[0].score, hits[1].score if second is not None else None
                ),
                "dense_margin": float(dense[best] - dense[runner]),
                "keyword_margin": float((keyword[best] - keyword[runner]) / top_kw)
                if top_kw > 0
                else 0,
                "word_margin": lambda: self._word_margin(query, best, runner),
                "pair": cosine(self.centroids[best], self.centroids[runner])
                if runner != best
                else 0,
                "agree": float(keyword[best] / top_kw) if top_kw > 0 else 0.0,
                "raw": raw,
                "length": length_signal(query.text),
            }
        )
        return FaqResult(hits, raw, confidence, signals)

    def _word_margin(self, query: QueryRep, top: int, runner: int) -> float:
        """IDF-weighted share of the question's words in the top entry minus in the runner-up:
        "个税起征点" names income tax, which the VAT 起征点 entry does not."""
        table = self.entry_words()
        words = {w: table.idf[w] for w in set(query.words) if w in table.idf}
        a, b = table.words[top], table.words[runner]
        return coverage(words, set(words) & a) - coverage(words, set(words) & b)

    def _known(self, query: QueryRep) -> float:
        """IDF-weighted share of the question's character pairs that occur in any FAQ question."""
        pairs = list(dict.fromkeys(t for t in query.chars if len(t) == 2)) or list(query.chars)
        weights = [self.keywords.idf_of(t) for t in pairs]
        total = sum(weights)
        if total <= 0:
            return 0.0
        return (
            sum(w for t, w in zip(pairs, weights, strict=True) if t in self.keywords.vocab) / total
        )
