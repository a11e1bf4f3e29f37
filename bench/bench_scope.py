"""Fits the gates of service/scope.py (service/tuning.py ``scope_faq_words``/``_weight`` and
``passage_scope``) by k-fold cross-validation and prints the out-of-fold figures of what the
citizen sees.

    .venv/bin/python bench/bench_scope.py --cache-dir DIR [--eval-dir DIR] [--folds 5]

Three sets are asked once each through ``policyqa.evaluation.run.run_traced`` with the shipped
tuning and the gate off: ``faq-bq-dev`` and ``policy-ncpqa-dev`` (each with ``oos-lcqmc-dev``, as
``policyqa eval`` does) and the neighbouring-domain set (``policyqa.evaluation.neighbours``: the
bank questions of faq-bq-dev against the policy corpus alone, written into the cache folder, its
index sharing the policy set's vectors). For every question the answer shown is kept with how much
its first item backs the question (``KnowledgeScope.shown``: the path, the number of the
question's salient words the FAQ entry or top excerpt contains and their summed IDF) and the
passage confidence's raw score. A gate turns an answer or a clarification of its path into a
decline, so any gate's outcome follows from the one run.

Fit, per path, on k−1 folds. The FAQ gate (on faq-bq-dev) is a word gate: a grid of (words,
weight), declining when both are below. The passage gate (on policy-ncpqa-dev and the
neighbouring set) is a logistic model of ``service.scope.SCOPE_FEATURES`` fitted on the questions
the passage path answers or clarifies (in scope or not), with a grid of thresholds. Among the gates
that decline at most a tolerated share of the in-scope questions answered or clarified right
(tolerance 0: ``answered_right + clarified_right`` not lower), the one with the lowest cost per
question — a wrong answer or clarification shown 1, an out-of-scope answer 1, a clarification
with the right option c = 0.5 (out of scope: c), a declined in-scope question d = R / (1 + R) (one
right answer lost must buy R wrong ones avoided; R = 5). Reported: tolerance 0, 0.5 % (shipped)
and none (the cost alone). The held-out fold is judged with the fit;
the folds pooled give the out-of-fold figures. The values for service/tuning.py are the fit on all
questions.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import code_version, cv_parser, fit_logistic, folds_of, log

from indexer.build import build_from
from indexer.encoders import make_encoder
from indexer.store import load_index
from policyqa.evaluation.dataset import load_datasets
from policyqa.evaluation.metrics import Outcome, citizen_rates, shown_right
from policyqa.evaluation.neighbours import write_neighbour_set
from policyqa.evaluation.run import run_traced
from service.answering import ACCEPT, Answerer
from service.clarify_model import ClarifyModel
from service.scope import SCOPE_FEATURES, Backing, passage_backed, scope_signals
from service.tuning import DEFAULT_TUNING

OOS_SET = "oos-lcqmc-dev"
NEIGHBOURS = "neighbours"
SETS = {"faq-bq-dev": "faq", "policy-ncpqa-dev": "passage", NEIGHBOURS: "passage"}
WORDS = (0, 1, 2, 3, 4, 5)  # 0 = gate off
WEIGHTS = tuple(round(0.1 * w, 1) for w in range(0, 26))  # in never-seen words' IDF
THRESHOLDS = tuple(round(0.01 * t, 2) for t in range(0, 100))  # of the passage model; 0 = off
# (R, tolerance): R = wrong answers avoided that one right answer lost is worth; tolerance = the
# share of in-scope questions whose right answer the gate may decline on the training folds.
VARIANTS = ((5.0, 0.0), (5.0, 0.005), (5.0, 1.0))
ASKING = 0.5  # c, as in bench_clarify_band.py
SEED = 12


@dataclasses.dataclass(frozen=True)
class Question:
    set: str
    today: Outcome  # gate off
    path: str  # "faq", "passage" or "" (nothing would be shown)
    backing: Backing
    signals: dict[str, float]  # the passage path's (service/clarify_model.passage_signals)


Gate = tuple[int, float] | ClarifyModel  # FAQ: (words, weight); passages: the model


def shown(q: Question) -> bool:
    return q.today.answered or q.today.clarified


def passes(q: Question, gate: Gate) -> bool:
    if isinstance(gate, ClarifyModel):
        return passage_backed(gate, q.backing, q.signals)
    return q.backing.enough(words=gate[0], weight=gate[1])


def gated(q: Question, gate: Gate, path: str) -> Outcome:
    o = q.today
    if q.path != path or not shown(q) or passes(q, gate):
        return o
    return dataclasses.replace(o, answered=False, answer_type="none", shown=())


def cost(questions: Sequence[Question], gate: Gate, path: str, lost: float) -> float:
    declined = lost / (1 + lost)
    total = 0.0
    for q in questions:
        o = gated(q, gate, path)
        if o.kind == "oos":
            total += 1.0 if o.answered else ASKING if o.clarified else 0.0
        elif o.clarified:
            total += ASKING if shown_right(o) else 1.0
        elif o.answered:
            total += 0.0 if shown_right(o) else 1.0
        else:
            total += declined
    return total / max(len(questions), 1)


def right_lost(questions: Sequence[Question], gate: Gate, path: str) -> int:
    """In-scope questions answered or clarified with the right item that the gate declines."""
    return sum(
        1
        for q in questions
        if q.today.kind != "oos"
        and (q.today.answered or q.today.clarified)
        and shown_right(q.today)
        and gated(q, gate, path) is not q.today
    )


def grid(questions: Sequence[Question], path: str) -> list[Gate]:
    """The candidate gates, the gate off first: for passages, the model fitted on ``questions``
    (in scope or not, among those the path answers or asks back) at every threshold."""
    if path != "passage":
        return [(0, 0.0)] + [(k, m) for k in WORDS if k > 0 for m in WEIGHTS if m > 0]
    fitted = [q for q in questions if q.path == path and shown(q) and q.backing.salient > 0]
    x = np.array([[scope_signals(q.backing, q.signals)[f] for f in SCOPE_FEATURES] for q in fitted])
    y = np.array([q.today.kind != "oos" for q in fitted], dtype=float)
    weights, bias = fit_logistic(x, y)
    model = ClarifyModel(
        SCOPE_FEATURES, tuple(round(float(w), 3) for w in weights), round(bias, 3), 0.0
    )
    return [dataclasses.replace(model, threshold=t) for t in THRESHOLDS]


def fit(questions: Sequence[Question], path: str, lost: float, tolerance: float) -> Gate:
    """The lowest-cost gate that declines at most ``tolerance`` of the in-scope questions that
    were answered or clarified right (0: answered_right + clarified_right not lower)."""
    allowed = tolerance * sum(1 for q in questions if q.today.kind != "oos")
    feasible = [g for g in grid(questions, path) if right_lost(questions, g, path) <= allowed]
    return min(feasible, key=lambda g: (cost(questions, g, path, lost), strictness(g)))


def strictness(gate: Gate) -> tuple[float, ...]:
    """Ties go to the laxest gate."""
    return (gate.threshold,) if isinstance(gate, ClarifyModel) else gate


def ask_set(name: str, eval_dir: Path, work: Path, encoder: Any) -> list[Question]:
    if name == NEIGHBOURS:
        folder = work / "neighbour-set"
        write_neighbour_set(eval_dir, folder)
        ds = load_datasets([folder])
        index_dir = work / "policy-ncpqa-dev"  # the same corpus: its vectors are re-used
    else:
        ds = load_datasets([eval_dir / name, eval_dir / OOS_SET])
        index_dir = work / name
    log(f"{name}: indexing into {index_dir} (vectors re-used from an earlier run there)")
    build_from(ds.knowledge, index_dir, encoder=encoder)
    index = load_index(index_dir)
    # The gate off: every gate's outcome is then derived from the one run (the shipped one is not
    # applied twice).
    no_model = dataclasses.replace(DEFAULT_TUNING.passage_scope, threshold=0.0)
    gate_off = dataclasses.replace(DEFAULT_TUNING, scope_faq_words=0, passage_scope=no_model)
    answerer = Answerer(index, encoder, tuning=gate_off)
    answerer.ask("预热")
    log(f"{name}: asking {len(ds.queries)} questions")
    questions = []
    for outcome, trace in run_traced(answerer, ds):
        confident = trace.faq_signals.get("confidence", 0.0) >= ACCEPT and trace.faq_ranking
        entry = index.faqs[trace.faq_ranking[0]] if confident else None
        excerpt = trace.passage_ranking[0][1] if trace.passage_ranking else None
        shown = answerer.scope.shown(trace.question, entry=entry, excerpt=excerpt)
        path, backing = shown if shown is not None else ("", Backing(0, 0, 0.0))
        questions.append(Question(name, outcome, path, backing, dict(trace.passage_signals)))
    return questions


def plain(gate: Gate) -> Any:
    return dataclasses.asdict(gate) if isinstance(gate, ClarifyModel) else gate


def figures(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    rates = citizen_rates(outcomes)
    if not any(o.kind != "oos" for o in outcomes):
        return {"out_of_scope": rates["out_of_scope"]}
    return rates


def cross_validate(
    questions: Sequence[Question], path: str, folds: int, lost: float, tolerance: float
) -> dict[str, Any]:
    fold_of = folds_of(len(questions), folds, SEED)
    held: list[tuple[str, Outcome]] = []
    gates = []
    for k in range(folds):
        train = [q for i, q in enumerate(questions) if fold_of[i] != k]
        gate = fit(train, path, lost, tolerance)
        gates.append(gate)
        held += [(q.set, gated(q, gate, path)) for i, q in enumerate(questions) if fold_of[i] == k]
    result: dict[str, Any] = {
        "path": path,
        "right_lost_worth": lost,
        "right_lost_tolerance": tolerance,
        "folds": folds,
        "fold_gates": [plain(g) for g in gates],
    }
    for name in dict.fromkeys(q.set for q in questions):
        result[name] = {
            "gate_off": figures([q.today for q in questions if q.set == name]),
            "out_of_fold": figures([o for s, o in held if s == name]),
        }
    result["fit_on_all"] = plain(fit(questions, path, lost, tolerance))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = cv_parser(__doc__.split("\n\n")[0])
    parser.add_argument("--paths", default="faq,passage", help="comma-separated subset")
    args = parser.parse_args(argv)
    encoder = make_encoder(args.encoder)
    paths = [p for p in args.paths.split(",") if p]
    result: dict[str, Any] = {"code": code_version()}
    for path in paths:
        questions: list[Question] = []
        for name in [n for n, p in SETS.items() if p == path]:
            questions += ask_set(name, args.eval_dir.resolve(), args.cache_dir.resolve(), encoder)
        result[path] = [
            cross_validate(questions, path, args.folds, lost, tolerance)
            for lost, tolerance in VARIANTS
        ]
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
