"""Fits the clarify models (service/tuning.py ``faq_clarify``, ``passage_clarify``) by k-fold
cross-validation and prints the out-of-fold figures of what the citizen sees.

    .venv/bin/python bench/bench_clarify_band.py --cache-dir DIR [--eval-dir DIR] [--folds 5]

The FAQ model is fitted on ``faq-bq-dev``, the passage model on ``policy-ncpqa-dev``, each asked
together with ``oos-lcqmc-dev`` (as ``policyqa eval`` does). Each set is asked twice through
``policyqa.evaluation.run.run_traced``: never asking back (today's answers, and each question's
signals from its trace) and always asking back (every answer turned into a clarification: what its
options would be, judged as ``metrics.shown_right`` judges them; a question naming the document and
article of its top candidate is still answered). Since a clarification replaces an answer exactly
when the model says so, any model's outcome per question follows from those two runs. The per-
question results are kept in DIR (``<set>.questions.json``) and re-used with ``--reuse``.

Fit, on k−1 folds: a logistic regression of "the top candidate shown is right" on the signals of
service/clarify_model.py (the answered questions of the model's side; standardised, L2 1.0,
Newton's method), then the probability threshold of the grid (0…1, step 0.01) that meets the
objective. The cost per question is ``answered_wrong + clarified_wrong + c × clarified_right``
(+ on the out-of-scope side 1 per answer, c per clarification): a wrong answer costs 1, a
clarification without the right option is as bad, asking back with the right option among the
choices costs c (one more turn). The held-out fold is judged with the model; the out-of-fold figures are the held-out folds pooled. The model printed
for service/tuning.py is the fit on all questions. Each objective is fitted with the shipped
model's signals, with the margin alone (the single signal of the first clarify band) and with
every signal, for comparison.

Objectives: ``target`` — the fewest clarifications (the lowest threshold) with which, on the
training folds, ``answered_wrong`` is at most half of never asking back and ``answered_right +
clarified_right`` is not lower than never asking back's ``answered_right`` (issue 12's done-when;
the least costly at c = 0.5 if no threshold gets there); ``0.5`` and ``0.75`` — the lowest cost
with that c.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import code_version, cv_parser, fit_logistic, folds_of, log

from indexer.build import build_from
from indexer.encoders import make_encoder
from indexer.store import load_index
from policyqa.evaluation.dataset import load_datasets
from policyqa.evaluation.metrics import Outcome, shown_right
from policyqa.evaluation.run import run_traced
from service.answering import Answerer
from service.clarify_model import FAQ_FEATURES, PASSAGE_FEATURES, ClarifyModel
from service.tuning import DEFAULT_TUNING

OOS_SET = "oos-lcqmc-dev"
SETS = {"faq-bq-dev": "faq", "policy-ncpqa-dev": "passage"}  # set → the model it fits
FEATURES = {"faq": FAQ_FEATURES, "passage": PASSAGE_FEATURES}
THRESHOLDS = [round(0.01 * i, 2) for i in range(0, 101)]  # 0 = never ask back
COSTS = ("0.5", "0.75")  # the cost of asking back with the right option (a wrong answer costs 1)
TARGET = "target"  # the fewest clarifications that halve the wrong answers (issue 12's done-when)
TARGET_SHARE = 0.5  # … at most this share of the wrong answers shown without asking back
SEED = 12


@dataclasses.dataclass(frozen=True)
class Shown:
    answered: bool
    clarified: bool
    right: bool  # metrics.shown_right


@dataclasses.dataclass(frozen=True)
class Question:
    oos: bool
    kind: str  # the answer type today ("faq", "passage", …)
    today: Shown  # never asking back
    asked: Shown  # always asking back
    signals: dict[str, float]


def shown(outcome: Outcome) -> Shown:
    return Shown(outcome.answered, outcome.clarified, shown_right(outcome))


def features(questions: Sequence[Question], names: Sequence[str]) -> np.ndarray:
    return np.array([[q.signals.get(n, 0.0) for n in names] for q in questions], dtype=float)


def with_model(q: Question, model: ClarifyModel, side: str) -> Shown:
    if q.kind == side and model.asks_back(q.signals):
        return q.asked
    return q.today


def cost(questions: Sequence[Question], model: ClarifyModel, side: str, asking: float) -> float:
    total = 0.0
    for q in questions:
        s = with_model(q, model, side)
        if q.oos:
            total += 1.0 if s.answered else asking if s.clarified else 0.0
        elif s.clarified:
            total += asking if s.right else 1.0
        elif s.answered:
            total += 0.0 if s.right else 1.0
    return total / max(len(questions), 1)


def fit(
    questions: Sequence[Question], side: str, objective: str, names: Sequence[str]
) -> ClarifyModel:
    answered = [q for q in questions if q.kind == side and not q.oos]
    x = features(answered, names)
    y = np.array([q.today.right for q in answered], dtype=float)
    weights, bias = fit_logistic(x, y)
    base = ClarifyModel(tuple(names), tuple(float(w) for w in weights), bias, 0.0)
    models = [dataclasses.replace(base, threshold=t) for t in THRESHOLDS]
    if objective == TARGET:
        never = rates([(q.oos, q.today) for q in questions])["in_scope"]
        for model in models:  # from the fewest clarifications up
            ins = rates([(q.oos, with_model(q, model, side)) for q in questions])["in_scope"]
            reached = ins["answered_right"] + ins["clarified_right"]
            if (
                ins["answered_wrong"] <= TARGET_SHARE * never["answered_wrong"]
                and reached >= never["answered_right"]
            ):
                return model
        objective = "0.5"  # the target is out of reach: the least costly instead
    asking = float(objective)
    return min(models, key=lambda m: (cost(questions, m, side, asking), m.threshold))


def rates(results: Sequence[tuple[bool, Shown]]) -> dict[str, dict[str, float]]:
    ins = [s for oos, s in results if not oos]
    out = [s for oos, s in results if oos]

    def share(values: Sequence[bool]) -> float:
        return round(sum(values) / max(len(values), 1), 4)

    return {
        "in_scope": {
            "answered_right": share([s.answered and s.right for s in ins]),
            "answered_wrong": share([s.answered and not s.right for s in ins]),
            "clarified_right": share([s.clarified and s.right for s in ins]),
            "clarified_wrong": share([s.clarified and not s.right for s in ins]),
            "declined": share([not s.answered and not s.clarified for s in ins]),
        },
        "out_of_scope": {
            "answered": share([s.answered for s in out]),
            "clarified": share([s.clarified for s in out]),
            "declined": share([not s.answered and not s.clarified for s in out]),
        },
    }


def ask_set(name: str, eval_dir: Path, work: Path, encoder: Any) -> list[Question]:
    ds = load_datasets([eval_dir / name, eval_dir / OOS_SET])
    out = work / name
    log(f"{name}: indexing into {out} (vectors re-used from an earlier run there)")
    build_from(ds.knowledge, out, encoder=encoder)
    index = load_index(out)
    side = SETS[name]
    runs = []
    for threshold in (0.0, 1.01):
        model = dataclasses.replace(DEFAULT_TUNING.faq_clarify, threshold=threshold)
        passage = dataclasses.replace(DEFAULT_TUNING.passage_clarify, threshold=threshold)
        tuning = dataclasses.replace(DEFAULT_TUNING, faq_clarify=model, passage_clarify=passage)
        answerer = Answerer(index, encoder, tuning=tuning)
        answerer.ask("预热")
        log(f"{name}: asking {len(ds.queries)} questions, {'always' if threshold else 'never'}")
        runs.append(run_traced(answerer, ds))
    questions = []
    for (today, trace), (asked, _) in zip(runs[0], runs[1], strict=True):
        signals = trace.faq_signals if side == "faq" else trace.passage_signals
        questions.append(
            Question(today.kind == "oos", today.answer_type, shown(today), shown(asked), signals)
        )
    return questions


def cross_validate(
    questions: Sequence[Question], side: str, folds: int, objective: str, names: Sequence[str]
) -> dict[str, Any]:
    fold_of = folds_of(len(questions), folds, SEED)
    held: list[tuple[bool, Shown]] = []
    thresholds = []
    for k in range(folds):
        train = [q for i, q in enumerate(questions) if fold_of[i] != k]
        model = fit(train, side, objective, names)
        thresholds.append(model.threshold)
        held += [
            (q.oos, with_model(q, model, side)) for i, q in enumerate(questions) if fold_of[i] == k
        ]
    final = fit(questions, side, objective, names)
    return {
        "signals": list(names),
        "objective": objective,
        "fold_thresholds": thresholds,
        "out_of_fold": rates(held),
        "fit_on_all": dataclasses.asdict(final),
    }


def signal_sets(side: str) -> list[tuple[str, ...]]:
    """The shipped model's signals, the margin alone (the first band) and every signal."""
    shipped = DEFAULT_TUNING.faq_clarify if side == "faq" else DEFAULT_TUNING.passage_clarify
    sets = [shipped.features, ("margin",), FEATURES[side]]
    return [s for n, s in enumerate(sets) if s not in sets[:n]]


def load_questions(path: Path) -> list[Question]:
    rows = json.loads(path.read_text("utf-8"))
    return [
        Question(r["oos"], r["kind"], Shown(**r["today"]), Shown(**r["asked"]), r["signals"])
        for r in rows
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = cv_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default=",".join(SETS), help="comma-separated subset")
    parser.add_argument(
        "--reuse", action="store_true", help="re-use the questions asked by an earlier run"
    )
    args = parser.parse_args(argv)
    encoder = make_encoder(args.encoder)
    result: dict[str, Any] = {"code": code_version()}
    cache = args.cache_dir.resolve()
    for name in [s for s in args.sets.split(",") if s]:
        saved = cache / f"{name}.questions.json"
        if args.reuse and saved.is_file():
            questions = load_questions(saved)
        else:
            questions = ask_set(name, args.eval_dir.resolve(), cache, encoder)
            saved.write_text(json.dumps([dataclasses.asdict(q) for q in questions]), "utf-8")
        side = SETS[name]
        never = [(q.oos, q.today) for q in questions]
        result[name] = {
            "never_asking_back": rates(never),
            "fits": [
                cross_validate(questions, side, args.folds, objective, names)
                for objective in (TARGET, *COSTS)
                for names in signal_sets(side)
            ],
        }
    print(json.dumps(result, ensure_ascii=False, indent=2, default=_plain))
    return 0


def _plain(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    raise TypeError(type(value))


if __name__ == "__main__":
    raise SystemExit(main())
