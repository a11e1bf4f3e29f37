"""Questions grouped by meaning, for the analytics of what citizens ask.

Each distinct wording (after ``indexer.textnorm.normalize``, with the domain synonyms added as the
answerer adds them) is embedded once with the serving engine's own query encoder; wordings are
grouped by average-link agglomerative clustering on cosine distance, cut at ``1 - similarity``.
The input is sorted first, so the same questions always give the same groups. A group's typical
question is its medoid: the wording most similar to the others, weighted by how often each was
asked (ties: the more frequent, then the first in code-point order).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

from indexer.textnorm import normalize
from service.query import expand

Encode = Callable[[Sequence[str]], np.ndarray]
EXAMPLES = 5


@dataclass(frozen=True)
class Group:
    typical: str  # the medoid, as a citizen wrote it (masked)
    count: int  # questions in the group
    examples: list[str]  # other wordings, most asked first
    members: list[int]  # positions in the input


def meaning_key(question: str) -> str:
    return normalize(question)


def group(questions: Sequence[str], encode: Encode, *, similarity: float) -> list[Group]:
    """Groups of ``questions``, the largest first (ties: the typical question's order)."""
    positions: dict[str, list[int]] = {}
    wordings: dict[str, Counter[str]] = {}
    for i, question in enumerate(questions):
        key = meaning_key(question)
        if not key:
            continue
        positions.setdefault(key, []).append(i)
        wordings.setdefault(key, Counter())[question.strip()] += 1
    keys = sorted(positions)
    if not keys:
        return []
    weights = np.array([len(positions[k]) for k in keys], dtype=np.float64)
    vectors = _unit(encode([expand(k) for k in keys]))
    labels = _labels(vectors, similarity)
    groups = []
    for label in sorted(set(labels)):
        idx = [i for i, lab in enumerate(labels) if lab == label]
        typical = _medoid(idx, keys, weights, vectors[idx])
        others = sorted((k for k in idx if k != typical), key=lambda k: (-weights[k], keys[k]))
        groups.append(
            Group(
                typical=_shown(wordings[keys[typical]]),
                count=int(sum(weights[k] for k in idx)),
                examples=[_shown(wordings[keys[k]]) for k in others[:EXAMPLES]],
                members=sorted(p for k in idx for p in positions[keys[k]]),
            )
        )
    groups.sort(key=lambda g: (-g.count, meaning_key(g.typical)))
    return groups


def _unit(rows: np.ndarray) -> np.ndarray:
    vectors = np.asarray(rows, dtype=np.float64)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _labels(vectors: np.ndarray, similarity: float) -> list[int]:
    if len(vectors) == 1:
        return [1]
    distances = np.clip(pdist(vectors, metric="cosine"), 0.0, 2.0)
    tree = linkage(distances, method="average")
    return [int(x) for x in fcluster(tree, t=1.0 - similarity, criterion="distance")]


def _medoid(idx: list[int], keys: list[str], weights: np.ndarray, vectors: np.ndarray) -> int:
    if len(idx) == 1:
        return idx[0]
    scores = (vectors @ vectors.T) @ weights[idx]
    # Rounded: the same questions must give the same medoid on any BLAS.
    order = sorted(
        range(len(idx)), key=lambda j: (-round(float(scores[j]), 6), -weights[idx[j]], keys[idx[j]])
    )
    return idx[order[0]]


def _shown(wordings: Counter[str]) -> str:
    """The most used original wording of one normalised question."""
    return min(wordings.items(), key=lambda item: (-item[1], item[0]))[0]
