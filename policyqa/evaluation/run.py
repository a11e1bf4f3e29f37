"""Runs a dataset through the same indexer and answering code the HTTP service uses."""

from __future__ import annotations

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
    CLARIFY,
    Item,
    Outcome,
    answer_rates,
    by_kind,
    citizen_rates,
    first_relevant,
    latency_figures,
    ranking_figures,
)
from service.answering import Answer, Answerer, Trace
from service.tuning import Tuning, tuning_for


def _kind(query: Query, ds: Dataset) -> str:
    if not query.relevant:
        return "oos"
    return "faq" if any(r in ds.faq_ids for r in query.relevant) else "passage"


def _rank(query: Query, kind: str, trace: Trace) -> int | None:
    """FAQ questions are judged on the FAQ ranking, passage questions on the passage ranking."""
    if kind == "faq":
        return first_relevant(query, [("faq", faq_id, "") for faq_id in trace.faq_ranking])
    if kind == "passage":
        ranking = [("passage", doc_id, text) for doc_id, text in trace.passage_ranking]
        return first_relevant(query, ranking)
    return None


def _shown(answer: Answer, trace: Trace, ds: Dataset) -> tuple[Item, ...]:
    """What the citizen is shown first: the FAQ entry answered with (the FAQ ranking's first),
    or the lead citation's excerpt of a passage answer; for a clarification every option: the
    FAQ entries whose question is offered in ``related`` and the documents cited."""
    if answer.type == "faq":
        return (("faq", trace.faq_ranking[0], ""),) if trace.faq_ranking else ()
    if answer.type == "passage":
        return tuple(("passage", s.doc_id, s.excerpt) for s in answer.sources[:1])
    if answer.type == CLARIFY:
        faqs = [("faq", i, "") for text in answer.related for i in ds.faq_by_question.get(text, ())]
        return (*faqs, *(("passage", s.doc_id, s.excerpt) for s in answer.sources))
    return ()


def summarise(outcomes: Sequence[Outcome], index_seconds: float) -> dict[str, Any]:
    return {
        "queries": len(outcomes),
        **ranking_figures(outcomes),
        **answer_rates(outcomes),
        **citizen_rates(outcomes),
        "latency_ms": latency_figures([o.seconds for o in outcomes]),
        "index_seconds": round(index_seconds, 2),
        "by_kind": by_kind(outcomes),
    }


def run_traced(answerer: Answerer, ds: Dataset) -> list[tuple[Outcome, Trace]]:
    """Every query asked once, on its own (no session), with what the evaluation needs."""
    out = []
    for query in ds.queries:
        started = time.perf_counter()
        answer, trace = answerer.ask_traced(query.query)
        seconds = time.perf_counter() - started
        kind = _kind(query, ds)
        outcome = Outcome(
            query,
            kind,
            _rank(query, kind, trace),
            answer.answered,
            seconds,
            answer_type=str(answer.type),
            shown=_shown(answer, trace, ds),
        )
        out.append((outcome, trace))
    return out


def run_queries(answerer: Answerer, ds: Dataset) -> list[Outcome]:
    return [outcome for outcome, _ in run_traced(answerer, ds)]


def evaluate(
    folders: Sequence[Path],
    *,
    encoder: Encoder,
    tuning: Tuning | None = None,
    index_dir: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    ds = load_datasets(folders)
    with tempfile.TemporaryDirectory(prefix="policyqa-eval-") as tmp:
        out = index_dir or Path(tmp)
        started = time.perf_counter()
        build_from(ds.knowledge, out, encoder=encoder, progress=progress)
        index_seconds = time.perf_counter() - started
        tuning = tuning or tuning_for(encoder.identity)
        answerer = Answerer(load_index(out), encoder, tuning=tuning)
        answerer.ask("预热")  # first call loads the dictionary: not a citizen's latency
        return summarise(run_queries(answerer, ds), index_seconds)
