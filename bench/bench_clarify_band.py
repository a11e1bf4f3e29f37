"""Fits the clarify band (service/tuning.py ``faq_clarify_margin``, ``passage_clarify_margin``) by
k-fold cross-validation and prints the out-of-fold figures of what the citizen sees.

    .venv/bin/python bench/bench_clarify_band.py [--eval-dir DIR] [--cache-dir DIR] [--folds 5]

The FAQ margin is fitted on ``faq-bq-dev``, the passage margin on ``policy-ncpqa-dev``, each asked
together with ``oos-lcqmc-dev`` (as ``policyqa eval`` does). Each set is asked twice through
``policyqa.evaluation.run.run_traced``: with the band off (today's answers, and each question's
margin from its trace) and with the band wide open (every answer turned into a clarification:
what its options would be, judged as ``metrics.shown_right`` judges them). Since a clarification
replaces an answer exactly when the margin is below the band, any band's outcome per question
follows from those two runs.

Fit: on k−1 folds, the margin of the grid that minimises the cost per question
``answered_wrong + clarified_wrong + c × clarified_right`` (+ on the out-of-scope side 1 per
answer, c per clarification): a wrong answer costs 1, a clarification without the right option is
as bad, asking back with the right option among the choices costs c (one more turn). The band widens
only while, inside it, the wrong answers the options rescue outweigh the right answers it delays
(by c / (1 − c): 1 for c = 0.5, 3 for c = 0.75); both costs in COSTS are reported. The held-out
fold is judged with it. The out-of-fold figures are the held-out folds pooled. The band is adopted only when, out of
fold, ``answered_wrong`` drops, ``answered_right + clarified_right`` is not lower than with the band
off and out-of-scope ``declined`` stays ≥ 0.95; the value printed for service/tuning.py is the fit
on all questions.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchlib import REPO, code_version, log

from indexer.build import build_from
from indexer.encoders import DEFAULT_ENCODER, make_encoder
from indexer.store import load_index
from policyqa.evaluation.dataset import load_datasets
from policyqa.evaluation.metrics import Outcome, citizen_rates, shown_right
from policyqa.evaluation.run import run_traced
from service.answering import Answerer
from service.tuning import DEFAULT_TUNING

OOS_SET = "oos-lcqmc-dev"
SETS = {"faq-bq-dev": "faq", "policy-ncpqa-dev": "passage"}  # set → the margin it fits
GRID = [round(0.005 * i, 3) for i in range(0, 61)]  # 0 (off) … 0.30
COSTS = (0.5, 0.75)  # the cost of asking back with the right option (a wrong answer costs 1)
SEED = 12


@dataclasses.dataclass(frozen=True)
class Question:
    today: Outcome  # band off
    clarified: Outcome  # band wide open
    kind: str  # the answer type today ("faq", "passage", …)
    margin: float


def with_band(q: Question, band: float, side: str) -> Outcome:
    return q.clarified if q.kind == side and q.margin < band else q.today


def cost(questions: Sequence[Question], band: float, side: str, asking: float) -> float:
    total = 0.0
    for q in questions:
        o = with_band(q, band, side)
        if o.kind == "oos":
            total += 1.0 if o.answered else asking if o.clarified else 0.0
        elif o.clarified:
            total += asking if shown_right(o) else 1.0
        elif o.answered:
            total += 0.0 if shown_right(o) else 1.0
    return total / max(len(questions), 1)


def fit(questions: Sequence[Question], side: str, asking: float) -> float:
    return min(GRID, key=lambda band: (cost(questions, band, side, asking), band))


def ask_set(name: str, eval_dir: Path, work: Path, encoder: Any) -> list[Question]:
    ds = load_datasets([eval_dir / name, eval_dir / OOS_SET])
    out = work / name
    log(f"{name}: indexing into {out} (vectors re-used from an earlier run there)")
    build_from(ds.knowledge, out, encoder=encoder)
    index = load_index(out)
    side = SETS[name]
    runs = []
    for band in (0.0, 1.01):
        tuning = dataclasses.replace(
            DEFAULT_TUNING, faq_clarify_margin=band, passage_clarify_margin=band
        )
        answerer = Answerer(index, encoder, tuning=tuning)
        answerer.ask("预热")
        log(f"{name}: asking {len(ds.queries)} questions, band {band}")
        runs.append(run_traced(answerer, ds))
    questions = []
    for (today, trace), (clarified, _) in zip(runs[0], runs[1], strict=True):
        signals = trace.faq_signals if side == "faq" else trace.passage_signals
        questions.append(Question(today, clarified, today.answer_type, signals.get("margin", 1.0)))
    return questions


def cross_validate(
    questions: Sequence[Question], side: str, folds: int, asking: float
) -> dict[str, Any]:
    order = list(range(len(questions)))
    random.Random(SEED).shuffle(order)
    fold_of = {i: n % folds for n, i in enumerate(order)}
    held: list[Outcome] = []
    bands = []
    for k in range(folds):
        train = [q for i, q in enumerate(questions) if fold_of[i] != k]
        band = fit(train, side, asking)
        bands.append(band)
        held += [with_band(q, band, side) for i, q in enumerate(questions) if fold_of[i] == k]
    off = citizen_rates([q.today for q in questions])
    oof = citizen_rates(held)
    final = fit(questions, side, asking)
    ins, ins_off = oof["in_scope"], off["in_scope"]
    reached = (ins["answered_right"] or 0) + (ins["clarified_right"] or 0)
    adopt = (
        (ins["answered_wrong"] or 0) < (ins_off["answered_wrong"] or 0)
        and reached >= (ins_off["answered_right"] or 0) + (ins_off["clarified_right"] or 0)
        and (oof["out_of_scope"]["declined"] or 0) >= 0.95
    )
    return {
        "margin": side,
        "cost_of_asking": asking,
        "folds": folds,
        "fold_bands": bands,
        "band_off": off,
        "out_of_fold": oof,
        "fit_on_all": final,
        "adopt": adopt,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument(
        "--cache-dir", type=Path, required=True, help="index folders per set (re-used)"
    )
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated subset")
    args = parser.parse_args(argv)
    encoder = make_encoder(args.encoder)
    result: dict[str, Any] = {"code": code_version()}
    for name in [s for s in args.sets.split(",") if s]:
        questions = ask_set(name, args.eval_dir.resolve(), args.cache_dir.resolve(), encoder)
        result[name] = [cross_validate(questions, SETS[name], args.folds, c) for c in COSTS]
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
