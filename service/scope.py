"""Whether what the service would show backs the question: how much of the question's subject
(its salient words: nouns, verbs, names — not 怎么 or 多少) the FAQ entry or the excerpt it would
answer with contains, weighted by how specific each word is in the loaded knowledge.

A question from a neighbouring domain (a bank loan, a credit card, a share account) asked of a
finance bureau lands near some text about loans, subsidies or taxes: its few words are all known
to the knowledge and the cosines look like an in-scope question's. What it lacks is specific
subject shared with the text shown: "利息如何计算" shares 利息 and 计算, words that half the
documents use, with a passage about interest subsidies. A question the text really answers shares
several of its words with it (供应商, 质疑, 期限, 工作日) or a specific one (契税, 车船税).

Specificity is the words' IDF over the knowledge's own units (documents and FAQ entries), divided
by the IDF of a word no unit uses (so that a threshold means the same in a knowledge base of six
documents and one of six hundred); it is relative to what is loaded: with a bank FAQ loaded, bank
questions are backed by bank entries.
The thresholds per path are in service/tuning.py (fitted by bench/bench_scope.py).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from indexer.models import FaqEntry
from indexer.store import LoadedIndex
from indexer.textnorm import normalize
from indexer.tokenize import salient_words, tokenize
from service.query import synonyms


@dataclass(frozen=True)
class Backing:
    """Of the question's ``salient`` words, how many the candidate contains and their summed
    IDF."""

    salient: int
    shared: int
    weight: float  # in units of the IDF of a word the knowledge never uses (its highest)

    def enough(self, *, words: int, weight: float) -> bool:
        """At least ``words`` shared words or ``weight`` of specificity; ``words`` 0 = no gate.
        A question without salient words (a number, a greeting) says nothing against the text."""
        return words <= 0 or self.salient == 0 or self.shared >= words or self.weight >= weight


class KnowledgeScope:
    def __init__(self, index: LoadedIndex) -> None:
        self.doc_keywords = index.doc_keywords
        self.doc_df = np.diff(index.doc_keywords.weights.indptr)  # documents holding each word
        self.entry_text: dict[str, str] = {}
        self.entry_df: Counter[str] = Counter()
        for entry in index.faqs.values():
            text = normalize(" ".join((*entry.questions, entry.answer)))
            self.entry_text[entry.id] = text
            self.entry_df.update(set(tokenize(text)))
        self.units = index.doc_keywords.rows + len(index.faqs)

    def idf(self, word: str) -> float:
        """IDF of a word over the documents and FAQ entries (a word in none: the highest)."""
        row = self.doc_keywords.vocab.get(word)
        df = (int(self.doc_df[row]) if row is not None else 0) + self.entry_df.get(word, 0)
        return math.log(1.0 + (self.units - df + 0.5) / (df + 0.5))

    def idf_unseen(self) -> float:
        """The IDF of a word no document or entry uses: the unit of ``Backing.weight``."""
        return math.log(1.0 + (self.units + 0.5) / 0.5)

    def backing(self, question: str, text: str) -> Backing:
        """How much of the question's subject ``text`` (normalised) contains."""
        salient = salient_words(question)
        shared = [w for w in salient if _contains(text, w)]
        top = self.idf_unseen()
        weight = sum(self.idf(w) for w in shared) / top if top > 0 else 0.0
        return Backing(len(salient), len(shared), weight)

    def backing_faq(self, question: str, entry: FaqEntry) -> Backing:
        text = self.entry_text.get(entry.id)
        if text is None:  # not from this index (a test's hand-made entry)
            text = normalize(" ".join((*entry.questions, entry.answer)))
        return self.backing(question, text)

    def shown(
        self, question: str, *, entry: FaqEntry | None, excerpt: str | None
    ) -> tuple[str, Backing] | None:
        """The path that would answer ("faq" when there is a confident FAQ entry, else
        "passage") and how much its first item backs the question; None without a candidate."""
        if entry is not None:
            return "faq", self.backing_faq(question, entry)
        if excerpt is not None:
            return "passage", self.backing(question, normalize(excerpt))
        return None


def _contains(text: str, word: str) -> bool:
    """The word, or the wording the documents use for a colloquial one (社保 → 社会保险)."""
    if word in text:
        return True
    return any(short in word and full.split()[0] in text for short, full in synonyms())
