"""Quality figures from per-question outcomes: ranking (recall@k, MRR@10) and what a citizen sees
(answered right or wrong, offered a clarification that holds the answer or not, declined)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from policyqa.evaluation.dataset import Query

K = (1, 5, 10)
IN_SCOPE_RATES = (
    "answered_right",
    "answered_wrong",
    "clarified_right",
    "clarified_wrong",
    "declined",
)
OUT_OF_SCOPE_RATES = ("answered", "clarified", "declined")


@dataclass
class Outcome:
    query: Query
    kind: str  # "faq", "passage" or "oos"
    rank: int | None  # 1-based rank of the first hit within the top 10
    shown: (
        str  # "answered", "clarified" or "declined" (a hand-over or small talk counts as declined)
    )
    right: bool  # answered: the answer shown is relevant; clarified: one of the options is
    seconds: float = 0.0

    @property
    def answered(self) -> bool:
        return self.shown == "answered"

    @property
    def verdict(self) -> str:
        """One of IN_SCOPE_RATES for an in-scope question, OUT_OF_SCOPE_RATES otherwise."""
        if self.kind == "oos" or self.shown == "declined":
            return self.shown
        return f"{self.shown}_{'right' if self.right else 'wrong'}"


def is_relevant(query: Query, item: tuple[str, str, str]) -> bool:
    """``item`` is ("faq", entry id, "") or ("passage", doc_id, excerpt): an excerpt counts only
    when it holds the query's answer string (if it has one)."""
    kind, key, excerpt = item
    if key not in query.relevant:
        return False
    return kind == "faq" or not query.answer or query.answer in excerpt


def rate(values: Sequence[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def citizen_rates(outcomes: Sequence[Outcome]) -> dict[str, float | None]:
    """In-scope: each of IN_SCOPE_RATES (they add up to 1); out of scope: ``out_of_scope_`` +
    each of OUT_OF_SCOPE_RATES."""
    ranked = [o.verdict for o in outcomes if o.kind != "oos"]
    oos = [o.verdict for o in outcomes if o.kind == "oos"]
    out: dict[str, float | None] = {
        name: rate([v == name for v in ranked]) for name in IN_SCOPE_RATES
    }
    for name in OUT_OF_SCOPE_RATES:
        out[f"out_of_scope_{name}"] = rate([v == name for v in oos])
    return out


def ranking_figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    ranked = [o for o in outcomes if o.kind != "oos"]
    result: dict[str, Any] = {}
    for k in K:
        result[f"recall@{k}"] = rate([o.rank is not None and o.rank <= k for o in ranked])
    result["mrr@10"] = (
        round(sum(1 / o.rank for o in ranked if o.rank) / len(ranked), 4) if ranked else None
    )
    return result


def risk_coverage(scored: Sequence[tuple[float, bool]]) -> tuple[list[tuple[float, float]], float]:
    """Answering the questions in order of falling score, after each one: (coverage = share of
    questions answered, risk = share of the answers shown that are wrong). Ties are taken together.
    Returns the curve and its area (mean risk over coverage; lower is better)."""
    n = len(scored)
    if not n:
        return [], 0.0
    ordered = sorted(scored, key=lambda x: -x[0])
    curve: list[tuple[float, float]] = []
    wrong = 0
    area = 0.0
    i = 0
    while i < n:
        j = i
        while j < n and ordered[j][0] == ordered[i][0]:
            wrong += not ordered[j][1]
            j += 1
        risk = wrong / j
        area += risk * (j - i) / n
        curve.append((j / n, risk))
        i = j
    return curve, area
