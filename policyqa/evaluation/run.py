"""Runs a dataset through the same indexer and answering code the HTTP service uses."""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from indexer.build import Progress, build_from
from indexer.encoders import Encoder
from indexer.store import load_index
from policyqa.evaluation.dataset import Dataset, Query, load_datasets
from service.answering import Answer, Answerer
from service.tuning import DEFAULT_TUNING, Tuning

K = (1, 5, 10)


@dataclass
class Outcome:
    query: Query
    kind: str  # "faq", "passage" or "oos"
    rank: int | None  # 1-based rank of the first hit within the top 10
    answered: bool
    seconds: float


def _kind(query: Query, ds: Dataset) -> str:
    if not query.relevant:
        return "oos"
    return "faq" if any(r in ds.faq_ids for r in query.relevant) else "passage"


def _rank(query: Query, kind: str, answer: Answer) -> int | None:
    if kind == "faq":
        for i, faq_id in enumerate(answer.faq_ranking[:10], 1):
            if faq_id in query.relevant:
                return i
    elif kind == "passage":
        for i, (doc_id, excerpt) in enumerate(answer.passage_ranking[:10], 1):
            if doc_id in query.relevant and (not query.answer or query.answer in excerpt):
                return i
    return None


def _rate(values: list[bool]) -> float | None:
    return round(sum(values) / len(values), 4) if values else None


def summarise(outcomes: Sequence[Outcome], index_seconds: float) -> dict[str, Any]:
    ranked = [o for o in outcomes if o.kind != "oos"]
    oos = [o for o in outcomes if o.kind == "oos"]
    result: dict[str, Any] = {"queries": len(outcomes)}
    for k in K:
        result[f"recall@{k}"] = _rate([o.rank is not None and o.rank <= k for o in ranked])
    result["mrr@10"] = (
        round(sum(1 / o.rank for o in ranked if o.rank) / len(ranked), 4) if ranked else None
    )
    result["in_scope_answer_rate"] = _rate([o.answered for o in ranked])
    result["out_of_scope_decline_rate"] = _rate([not o.answered for o in oos])
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
                "recall@1": _rate([o.rank == 1 for o in part]),
                "mrr@10": round(sum(1 / o.rank for o in part if o.rank) / len(part), 4),
                "answer_rate": _rate([o.answered for o in part]),
            }
    result["by_kind"] = by_kind
    return result


def run_queries(answerer: Answerer, ds: Dataset) -> list[Outcome]:
    outcomes = []
    for query in ds.queries:
        started = time.perf_counter()
        answer = answerer.ask(query.query, rank_all=True)
        seconds = time.perf_counter() - started
        kind = _kind(query, ds)
        outcomes.append(Outcome(query, kind, _rank(query, kind, answer), answer.answered, seconds))
    return outcomes


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
