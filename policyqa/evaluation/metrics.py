"""Quality figures from per-question outcomes: where the first relevant item ranks (recall@k,
MRR@10), how often in-scope questions are answered and out-of-scope ones declined, what the citizen
is shown (a right or a wrong answer, a clarification, a decline), and latency.

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
CLARIFY = "clarify"  # the answer type of a clarification (options offered in ``related``)

Item = tuple[str, str, str]  # ("faq", entry id, "") or ("passage", doc_id, excerpt)


@dataclass(frozen=True)
class Outcome:
    query: Query
    kind: str  # "faq", "passage" or "oos" (no relevant item: out of scope)
    rank: int | None  # 1-based rank of the first relevant item within the top DEPTH
    answered: bool  # an FAQ or passage answer was shown (not a decline, hand-over or small talk)
    seconds: float = 0.0
    answer_type: str = ""  # Answer.type as shown ("faq", "passage", "clarify", "none", ...)
    # What the citizen was shown: for an answer, the FAQ entry or the lead excerpt (first);
    # for a clarification, its options.
    shown: tuple[Item, ...] = ()

    @property
    def clarified(self) -> bool:
        return self.answer_type == CLARIFY


def is_relevant(query: Query, item: Item) -> bool:
    """``item`` is ("faq", entry id, "") or ("passage", doc_id, excerpt): an excerpt counts only
    when it holds the query's answer string (if it has one)."""
    kind, key, excerpt = item
    if key not in query.relevant:
        return False
    return kind == "faq" or not query.answer or query.answer in excerpt


def first_relevant(query: Query, ranking: Sequence[Item], *, depth: int = DEPTH) -> int | None:
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


def shown_right(outcome: Outcome) -> bool:
    """An answer whose first FAQ entry or excerpt shown is relevant, or a clarification with a
    relevant option."""
    if outcome.answered:
        return bool(outcome.shown) and is_relevant(outcome.query, outcome.shown[0])
    if outcome.clarified:
        return any(is_relevant(outcome.query, item) for item in outcome.shown)
    return False


def citizen_rates(outcomes: Sequence[Outcome]) -> dict[str, dict[str, float | None]]:
    """What the citizen sees, as shares of the questions of each side (each side sums to 1).

    In scope: answered with a relevant first item (``answered_right``) or not
    (``answered_wrong``: a wrong answer shown as if it were right), a clarification whose options
    include a relevant one or not, and ``declined`` (no answer, a hand-over or small talk).
    Out of scope: ``answered`` (always wrong), ``clarified``, ``declined``."""
    ins = in_scope(outcomes)
    oos = [o for o in outcomes if o.kind == "oos"]
    declined_in = [not o.answered and not o.clarified for o in ins]
    return {
        "in_scope": {
            "answered_right": rate([o.answered and shown_right(o) for o in ins]),
            "answered_wrong": rate([o.answered and not shown_right(o) for o in ins]),
            "clarified_right": rate([o.clarified and shown_right(o) for o in ins]),
            "clarified_wrong": rate([o.clarified and not shown_right(o) for o in ins]),
            "declined": rate(declined_in),
        },
        "out_of_scope": {
            "answered": rate([o.answered for o in oos]),
            "clarified": rate([o.clarified for o in oos]),
            "declined": rate([not o.answered and not o.clarified for o in oos]),
        },
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


# ---- risk–coverage ------------------------------------------------------------------------------

# One way of answering a question: its confidence and whether what it shows is right.
Candidate = tuple[float, bool]


@dataclass(frozen=True)
class CurvePoint:
    threshold: float
    coverage: float  # share of the questions answered at this threshold
    risk: float  # share of the answered questions answered wrong


def risk_coverage(questions: Sequence[Sequence[Candidate]]) -> list[CurvePoint]:
    """The risk–coverage curve of a confidence threshold swept from high to low.

    Each question lists its candidate answers in the order the answerer prefers them (the service:
    its FAQ answer, then its passage answer; a plain ranker: its top-1); at threshold ``t`` the
    question is answered with its first candidate whose confidence is ≥ ``t`` (so lowering the
    threshold can change the answer shown, not only add answers), and not at all without one.
    A question without candidates (a hand-over, small talk) is never answered. One point per
    distinct confidence, highest first."""
    n = len(questions)
    thresholds = sorted({conf for q in questions for conf, _ in q}, reverse=True)
    points = []
    for t in thresholds:
        answered = wrong = 0
        for candidates in questions:
            shown = next((right for conf, right in candidates if conf >= t), None)
            if shown is not None:
                answered += 1
                wrong += not shown
        points.append(CurvePoint(t, answered / n, wrong / answered))
    return points


def area_under(points: Sequence[CurvePoint]) -> float | None:
    """Area under the risk–coverage step curve (each step's risk over the coverage it adds), from
    coverage 0 to the last point: lower is better; a method that never errs scores 0."""
    if not points:
        return None
    area, covered = 0.0, 0.0
    for p in points:
        area += p.risk * (p.coverage - covered)
        covered = p.coverage
    return round(area, 4)


def risk_at(points: Sequence[CurvePoint], coverage: float) -> float | None:
    """The risk at the highest threshold that answers at least ``coverage`` of the questions
    (None when no threshold reaches it)."""
    for p in points:
        if p.coverage >= coverage - 1e-9:
            return round(p.risk, 4)
    return None
