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

On the passage path, shared words alone miss bank questions whose words all occur in the policy
corpus ("提前还款利息" near a text on loan interest subsidies), and a strict count declines right
answers. The passage gate is a small logistic model (service/clarify_model.py's ``ClarifyModel``)
of the passage confidence's raw score and the two backing figures (``SCOPE_FEATURES``): an excerpt
that matches the question well and holds several of its specific words backs it. The FAQ path keeps
the word gate (cross-validation leaves it off). The models and thresholds are in service/tuning.py,
fitted by bench/bench_scope.py (docs/retrieval.md, "Neighbouring domains").
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
from service.clarify_model import ClarifyModel
from service.query import synonyms

# The passage gate's signals: the passage confidence's raw score, the shared salient words and
# their summed IDF (``Backing``).
SCOPE_FEATURES: tuple[str, ...] = ("raw", "shared", "weight")


# An FAQ entry is suggested with a decline when its questions hold this share of the question's
# subject (IDF-weighted salient words) or this many of its salient words.
SUGGEST_SHARE = 0.5
SUGGEST_WORDS = 2


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
        self.entry_questions: dict[str, str] = {}
        self.entry_df: Counter[str] = Counter()
        for entry in index.faqs.values():
            text = normalize(" ".join((*entry.questions, entry.answer)))
            self.entry_text[entry.id] = text
            self.entry_questions[entry.id] = normalize(" ".join(entry.questions))
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

    def about(self, question: str, entry: FaqEntry) -> bool:
        """Whether the entry's questions (standard and variants) hold the question's subject: at
        least half of its salient words' IDF weight (a word the knowledge never uses weighs most),
        or two of those words (a long, rambling question: "…我们公司参加了一个项目然后没中标…资质有
        问题…" and the entry on a supplier's challenge share 政府采购 and 中标). Worth suggesting
        when the question is not answered. "周杰伦的新歌叫什么名字" shares only 名字 with an entry on
        adding a spouse's name to a deed; that is not its subject."""
        text = self.entry_questions.get(entry.id)
        if text is None:
            text = normalize(" ".join(entry.questions))
        weights = {w: self.idf(w) for w in salient_words(question)}
        held = [w for w in weights if _contains(text, w)]
        shared = sum(weights[w] for w in held)
        return len(held) >= SUGGEST_WORDS or (
            shared > 0 and shared >= SUGGEST_SHARE * sum(weights.values())
        )

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


def scope_signals(backing: Backing, passage_signals: dict[str, float]) -> dict[str, float]:
    return {
        "raw": passage_signals.get("raw", 0.0),
        "shared": float(backing.shared),
        "weight": backing.weight,
    }


def passage_backed(
    model: ClarifyModel, backing: Backing, passage_signals: dict[str, float]
) -> bool:
    """Whether the passage gate lets the excerpt answer: its modelled probability that the question
    is about the knowledge is at least the threshold (0: no gate). A question without salient words
    (a number, a greeting) says nothing against the text."""
    if model.threshold <= 0 or backing.salient == 0:
        return True
    return model.probability(scope_signals(backing, passage_signals)) >= model.threshold


def _contains(text: str, word: str) -> bool:
    """The word, or the wording the documents use for a colloquial one (社保 → 社会保险)."""
    if word in text:
        return True
    return any(short in word and full.split()[0] in text for short, full in synonyms())
