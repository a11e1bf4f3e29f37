"""Compares sentence encoders on what the citizen sees, each at its own confidence threshold fitted
by k-fold cross-validation, and prints the out-of-fold figures.

    .venv/bin/python bench/bench_encoder.py --encoder e5 --cache-dir DIR [--sets policy-ncpqa-dev]

Each set is asked together with ``oos-lcqmc-dev`` (as ``policyqa eval`` does), once, through
``policyqa.evaluation.run.run_traced`` with the set's threshold open (FAQ threshold for
``faq-bq-dev``, passage threshold for ``policy-ncpqa-dev``): every question gets the answer (or the
clarification of the shipped band) it would get when confident, and its raw confidence signal from
the trace. A threshold declines exactly the questions whose signal is below it, so every
threshold's outcome per question follows from that one run.

The cosine scale differs between encoders (e5's cosines of unrelated texts are ~0.75, USE's ~0.1),
so the threshold is re-fitted: on k−1 folds, the lowest threshold of the grid at which the
out-of-scope questions of those folds are declined at least at ``--oos-target`` (the rate the
shipped USE threshold reaches on the set); the held-out fold is judged with it; the folds pooled
give the out-of-fold figures. The ranking figures (R@1, MRR@10) do not depend on the threshold.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import code_version, cv_parser, folds_of, log

from indexer.build import build_from
from indexer.encoders import make_encoder
from indexer.store import load_index
from policyqa.evaluation.dataset import load_datasets
from policyqa.evaluation.metrics import Outcome, citizen_rates, ranking_figures
from policyqa.evaluation.run import run_traced
from service.answering import Answerer
from service.tuning import tuning_for

OOS_SET = "oos-lcqmc-dev"
# The out-of-scope decline USE v3 reaches at its shipped thresholds (docs/retrieval.md), per side.
OOS_TARGETS = {"faq": 0.968, "passage": 0.986}
GRID = [round(0.005 * i, 3) for i in range(0, 201)]  # 0 … 1.0
OPEN = -10.0  # a threshold every raw signal passes
SEED = 12


@dataclasses.dataclass(frozen=True)
class Question:
    confident: Outcome  # the outcome with the threshold open
    signal: float  # the raw confidence signal of the set's side


def declined(o: Outcome) -> Outcome:
    return dataclasses.replace(o, answered=False, answer_type="none", shown=())


def at(q: Question, threshold: float) -> Outcome:
    return q.confident if q.signal >= threshold else declined(q.confident)


def oos_declined(questions: Sequence[Question], threshold: float) -> float:
    oos = [q for q in questions if q.confident.kind == "oos"]
    return sum(q.signal < threshold for q in oos) / max(len(oos), 1)


def fit(questions: Sequence[Question], target: float) -> float:
    return next((t for t in GRID if oos_declined(questions, t) >= target), GRID[-1])


def ask_set(name: str, eval_dir: Path, work: Path, encoder: Any, spec: str) -> dict[str, Any]:
    ds = load_datasets([eval_dir / name, eval_dir / OOS_SET])  # OOS_SET: in --eval-dir too
    out = work / name
    log(f"{name}: indexing into {out} (vectors re-used from an earlier run there)")
    report = build_from(ds.knowledge, out, encoder=encoder)
    side = "faq" if ds.faq_ids else "passage"  # the threshold the set fits
    shipped = tuning_for(encoder.identity)
    tuning = dataclasses.replace(
        shipped, **{"faq_threshold" if side == "faq" else "passage_threshold": OPEN}
    )
    answerer = Answerer(load_index(out), encoder, tuning=tuning)
    answerer.ask("预热")
    log(f"{name}: asking {len(ds.queries)} questions")
    started = time.perf_counter()
    traced = run_traced(answerer, ds)
    seconds = time.perf_counter() - started
    questions = []
    for outcome, trace in traced:
        signals = trace.faq_signals if side == "faq" else trace.passage_signals
        questions.append(Question(outcome, float(signals.get("raw", 0.0))))
    shipped_threshold = shipped.faq_threshold if side == "faq" else shipped.passage_threshold
    return {
        "side": side,
        "encoder": spec,
        "identity": encoder.identity,
        "index": {"embedded": report.embedded, "reused": report.reused, "seconds": report.seconds},
        "ask_ms_mean": round(1000 * seconds / max(len(traced), 1), 1),
        "ranking": ranking_figures([q.confident for q in questions]),
        "shipped_threshold": shipped_threshold,
        "at_shipped_threshold": citizen_rates([at(q, shipped_threshold) for q in questions]),
        "questions": questions,
    }


def cross_validate(questions: Sequence[Question], folds: int, target: float) -> dict[str, Any]:
    fold_of = folds_of(len(questions), folds, SEED)
    held: list[Outcome] = []
    thresholds = []
    for k in range(folds):
        threshold = fit([q for i, q in enumerate(questions) if fold_of[i] != k], target)
        thresholds.append(threshold)
        held += [at(q, threshold) for i, q in enumerate(questions) if fold_of[i] == k]
    return {
        "oos_target": target,
        "folds": folds,
        "fold_thresholds": thresholds,
        "out_of_fold": citizen_rates(held),
        "fit_on_all": fit(questions, target),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = cv_parser(__doc__.split("\n\n")[0], cache_help="index folders (re-used)")
    parser.add_argument(
        "--sets", default="policy-ncpqa-dev", help="comma-separated folders of --eval-dir"
    )
    parser.add_argument(
        "--oos-target",
        type=float,
        action="append",
        help="out-of-scope decline the threshold must reach (repeatable; default: what USE v3 "
        "reaches at its shipped thresholds, 0.986 for a passage set, 0.968 for an FAQ set)",
    )
    args = parser.parse_args(argv)
    encoder = make_encoder(args.encoder)
    work = args.cache_dir.resolve() / args.encoder.replace("/", "_").replace(":", "_")
    result: dict[str, Any] = {"code": code_version()}
    for name in [s for s in args.sets.split(",") if s]:
        figures = ask_set(name, args.eval_dir.resolve(), work, encoder, args.encoder)
        questions = figures.pop("questions")
        targets = args.oos_target or [OOS_TARGETS[figures["side"]]]
        figures["cross_validated"] = [cross_validate(questions, args.folds, t) for t in targets]
        result[name] = figures
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
