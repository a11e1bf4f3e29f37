"""Quality figures from per-question outcomes: where the first relevant item ranks (recall@k,
MRR@10), how often in-scope questions are answered and out-of-scope ones declined, and latency.

Pure arithmetic on plain values (no index, no encoder): ``tests/test_eval_metrics.py`` checks it
on hand-computed cases.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from policyqa.evaluation.dataset import Query

K = (1, 5, 10)  # recall cut-offs
DEPTH = 10  # ranks beyond this count as not found (and add nothing to MRR@10)
KINDS = ("faq", "passage")


@dataclass(frozen=True)
class Outcome:
    query: Query
    kind: str  # "faq", "passage" or "oos" (no relevant item: out of scope)
    rank: int | None  # 1-based rank of the first relevant item within the top DEPTH
    answered: bool  # an FAQ or passage answer was shown (not a decline, hand-over or small talk)
    seconds: float = 0.0


def is_relevant(query: Query, item: tuple[str, str, str]) -> bool:
    """``item`` is ("faq", entry id, "") or ("passage", doc_id, excerpt): an excerpt counts only
    when it holds the query's answer string (if it has one)."""
    kind, key, excerpt = item
    if key not in query.relevant:
        return False
    return kind == "faq" or not query.answer or query.answer in excerpt


def first_relevant(
    query: Query, ranking: Sequence[tuple[str, str, str]], *, depth: int = DEPTH
) -> int | None:
    """The 1-based rank of the first relevant item among the top ``depth``; None when there is
    none (no results, nothing relevant, or an out-of-scope query)."""
    for rank, item in enumerate(ranking[:depth], 1):
        if is_relevant(query, item):
            return rank
    return None


def rate(values: Sequence[bool]) -> float | None:
    """Share of true values, rounded to 4 places; None when there are none to count."""
    return round(sum(values) / len(values), 4) if values else None


def mrr(ranks: Sequence[int | None], *, depth: int = DEPTH) -> float | None:
    """Mean reciprocal rank; a miss (None, or beyond ``depth``) counts 0."""
    if not ranks:
        return None
    return round(sum(1 / r for r in ranks if r is not None and r <= depth) / len(ranks), 4)


def in_scope(outcomes: Sequence[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.kind != "oos"]


def ranking_figures(outcomes: Sequence[Outcome]) -> dict[str, float | None]:
    """recall@1, @5, @10 and mrr@10 over the in-scope questions."""
    ranks = [o.rank for o in in_scope(outcomes)]
    result = {f"recall@{k}": rate([r is not None and r <= k for r in ranks]) for k in K}
    result["mrr@10"] = mrr(ranks)
    return result


def answer_rates(outcomes: Sequence[Outcome]) -> dict[str, float | None]:
    """The share of in-scope questions answered and of out-of-scope questions not answered."""
    oos = [o for o in outcomes if o.kind == "oos"]
    return {
        "in_scope_answer_rate": rate([o.answered for o in in_scope(outcomes)]),
        "out_of_scope_decline_rate": rate([not o.answered for o in oos]),
    }


def latency_figures(seconds: Sequence[float]) -> dict[str, float | None]:
    """p50 (the median) and p99 (nearest rank, rounded down) in milliseconds."""
    ms = sorted(s * 1000 for s in seconds)
    if not ms:
        return {"p50": None, "p99": None}
    return {
        "p50": round(statistics.median(ms), 2),
        "p99": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2),
    }


def by_kind(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """FAQ and passage questions apart (a kind without questions is left out)."""
    result: dict[str, Any] = {}
    for kind in KINDS:
        part = [o for o in outcomes if o.kind == kind]
        if part:
            result[kind] = {
                "queries": len(part),
                "recall@1": rate([o.rank == 1 for o in part]),
                "mrr@10": mrr([o.rank for o in part]),
                "answer_rate": rate([o.answered for o in part]),
            }
    return result
