"""When to ask back: a small logistic model of "the top candidate is the right one".

Confidence (service/confidence.py) says whether a question is about the knowledge base at all; it
does not say whether the best FAQ entry or excerpt is the one meant rather than its neighbour.
These signals do, each computed from what the rankers already have:

- ``margin``: relative margin (top − runner-up) / top of the fused scores (passages: to the best
  excerpt of another document that is not the top one's policy or interpretation); FAQ also its
  two sides apart: ``dense_margin`` (of the dense score) and ``keyword_margin`` (of the keyword
  score over the best keyword score) — a word of the question that only the top entry has
  ("个税" against "增值税起征点") shows on the keyword side; ``word_margin``: the IDF-weighted
  share of the question's words (with the documents' wording of colloquial terms, 个税 →
  个人所得税) that the top entry's questions hold, minus the runner-up's;
- ``pair``: cosine of the two best candidates with each other (FAQ: entry centroids; passages:
  the two excerpts) — two entries that say the same thing are confusable, two different
  questions that share a word ("个税起征点" / "增值税起征点") are not;
- ``agree``: whether the keyword side agrees with the fused ranking (FAQ: the top entry's
  keyword score over the best keyword score; passages: its cosine minus the best cosine of the
  candidates);
- ``raw``: the confidence's raw score; ``length``: log(1 + characters of the question);
- passages also ``margin_next``: the relative margin to the next excerpt, wherever it is.

``ClarifyModel`` maps them to a probability that the top candidate is right and asks back below
its threshold. The weights and thresholds are fitted by k-fold cross-validation in
bench/bench_clarify_band.py and stored in service/tuning.py (docs/retrieval.md).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # service/tuning.py imports this module, and the retrievers import the tuning
    from service.passages import PassageResult
    from service.query import QueryRep

FAQ_FEATURES: tuple[str, ...] = (
    "margin",
    "dense_margin",
    "keyword_margin",
    "word_margin",
    "pair",
    "agree",
    "raw",
    "length",
)
PASSAGE_FEATURES: tuple[str, ...] = ("margin", "margin_next", "pair", "agree", "raw", "length")


@dataclass(frozen=True)
class ClarifyModel:
    features: tuple[str, ...]
    weights: tuple[float, ...]  # one per feature, on the raw signal's scale
    bias: float
    threshold: float  # ask back when the probability of "top is right" is below it (0: never)

    def __post_init__(self) -> None:
        if len(self.features) != len(self.weights):
            raise ValueError("a clarify model needs one weight per feature")

    def probability(self, signals: Mapping[str, float]) -> float:
        z = self.bias + sum(
            w * signals[f] for f, w in zip(self.features, self.weights, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-max(min(z, 60.0), -60.0)))

    def asks_back(self, signals: Mapping[str, float]) -> bool:
        return self.probability(signals) < self.threshold


class Signals(Mapping[str, float]):
    """Signals by name, in the order given; a signal given as a function is computed when first
    read. A clarify model reads only its features, a trace reads them all: what only some models
    use (and costs more to compute) is then computed only for them."""

    def __init__(self, signals: Mapping[str, float | Callable[[], float]]) -> None:
        self._signals = dict(signals)

    def __getitem__(self, name: str) -> float:
        value = self._signals[name]
        if callable(value):
            value = self._signals[name] = value()
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._signals)

    def __len__(self) -> int:
        return len(self._signals)

    def __repr__(self) -> str:
        return f"Signals({dict(self)!r})"


def relative_margin(top: float, other: float | None) -> float:
    """(top − other) / top; 1 when there is nothing to confuse the top with."""
    if other is None or top <= 0:
        return 1.0
    return (top - other) / top


def length_signal(text: str) -> float:
    return math.log1p(len(text))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    norm = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / norm if norm > 0 else 0.0


def passage_signals(
    result: PassageResult,
    vectors: np.ndarray,
    rows: Mapping[str, int],
    query: QueryRep,
    partners: Callable[[str], set[str]],
) -> dict[str, float]:
    """PASSAGE_FEATURES of a passage ranking; ``vectors`` are the chunk vectors, ``rows`` map a
    chunk id to its row, ``partners`` a document to its policy or interpretation (cited with it,
    so never an alternative to it)."""
    hits = result.hits
    if not hits:
        return {}
    top = hits[0]
    same = {top.meta.id} | partners(top.meta.id)
    other = next((h for h in hits[1:] if h.meta.id not in same), None)
    vector = vectors[rows[str(top.chunk.id)]]
    cosines = [float(vectors[rows[str(h.chunk.id)]] @ query.vector) for h in hits]
    return {
        "margin": relative_margin(top.score, other.score if other else None),
        "margin_next": relative_margin(top.score, hits[1].score if len(hits) > 1 else None),
        "pair": cosine(vector, vectors[rows[str(other.chunk.id)]]) if other else 0.0,
        "agree": cosines[0] - max(cosines),
        "raw": result.raw,
        "length": length_signal(query.text),
    }
