"""Runs a dataset through the same indexer and answering code the HTTP service uses."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from indexer.build import Progress, build_from
from indexer.encoders import Encoder
from indexer.store import load_index
from policyqa.evaluation.dataset import Dataset, Query, load_datasets
from policyqa.evaluation.metrics import (
    IN_SCOPE_RATES,
    Outcome,
    citizen_rates,
    is_relevant,
    ranking_figures,
    rate,
)
from service.answering import Answer, Answerer, AnswerType, Trace
from service.tuning import DEFAULT_TUNING, Tuning


def _kind(query: Query, ds: Dataset) -> str:
    if not query.relevant:
        return "oos"
    return "faq" if any(r in ds.faq_ids for r in query.relevant) else "passage"


def _rank(query: Query, kind: str, trace: Trace) -> int | None:
    if kind == "faq":
        ranking = [("faq", faq_id, "") for faq_id in trace.faq_ranking[:10]]
    elif kind == "passage":
        ranking = [("passage", doc_id, text) for doc_id, text in trace.passage_ranking[:10]]
    else:
        return None
    for i, item in enumerate(ranking, 1):
        if is_relevant(query, item):
            return i
    return None


def outcome_of(query: Query, kind: str, answer: Answer, trace: Trace, seconds: float) -> Outcome:
    if answer.answered:
        shown = "answered"
        right = bool(trace.shown) and is_relevant(query, trace.shown[0])
    elif answer.type == AnswerType.CLARIFY:
        shown = "clarified"
        right = any(is_relevant(query, item) for item in trace.shown)
    else:
        shown, right = "declined", False
    return Outcome(query, kind, _rank(query, kind, trace), shown, right, seconds)


def summarise(outcomes: Sequence[Outcome], index_seconds: float) -> dict[str, Any]:
    ranked = [o for o in outcomes if o.kind != "oos"]
    oos = [o for o in outcomes if o.kind == "oos"]
    result: dict[str, Any] = {"queries": len(outcomes), **ranking_figures(outcomes)}
    result["in_scope_answer_rate"] = rate([o.answered for o in ranked])
    result["out_of_scope_decline_rate"] = rate([not o.answered for o in oos])
    result.update(citizen_rates(outcomes))
    ms = sorted(o.seconds * 1000 for o in outcomes)
    result["latency_ms"] = {
        "p50": round(statistics.median(ms), 2) if ms else None,
        "p99": round(ms[min(len(ms) - 1, int(0.99 * len(ms)))], 2) if ms else None,
    }
    result["index_seconds"] = round(index_seconds, 2)
    by_kind: dict[str, Any] = {}
    for kind in ("faq", "passage"):
        part = [o for o in ranked if o.kind == kind]
        if part:
            by_kind[kind] = {
                "queries": len(part),
                "recall@1": rate([o.rank == 1 for o in part]),
                "mrr@10": round(sum(1 / o.rank for o in part if o.rank) / len(part), 4),
                "answer_rate": rate([o.answered for o in part]),
                **{k: v for k, v in citizen_rates(part).items() if k in IN_SCOPE_RATES},
            }
    result["by_kind"] = by_kind
    return result


def run_traced(answerer: Answerer, ds: Dataset) -> list[tuple[Outcome, Trace]]:
    """Every query asked once, on its own (no session), with what the evaluation needs."""
    out = []
    for query in ds.queries:
        started = time.perf_counter()
        answer, trace = answerer.ask_traced(query.query)
        seconds = time.perf_counter() - started
        out.append((outcome_of(query, _kind(query, ds), answer, trace, seconds), trace))
    return out


def run_queries(answerer: Answerer, ds: Dataset) -> list[Outcome]:
    return [outcome for outcome, _ in run_traced(answerer, ds)]


def evaluate(
    folders: Sequence[Path],
    *,
    encoder: Encoder,
    tuning: Tuning = DEFAULT_TUNING,
    index_dir: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    ds = load_datasets(folders)
    with tempfile.TemporaryDirectory(prefix="policyqa-eval-") as tmp:
        out = index_dir or Path(tmp)
        started = time.perf_counter()
        build_from(ds.knowledge, out, encoder=encoder, progress=progress)
        index_seconds = time.perf_counter() - started
        answerer = Answerer(load_index(out), encoder, tuning=tuning)
        answerer.ask("预热")  # first call loads the dictionary: not a citizen's latency
        return summarise(run_queries(answerer, ds), index_seconds)
