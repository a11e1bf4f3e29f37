"""Fits the answer / clarify / decline decision (service/decision.py) on the development data, with
k-fold cross-validation so that the figures it prints are out-of-sample.

    .venv/bin/python bench/fit_decision.py [--eval-dir DIR] [--cache-dir DIR] [--folds 5] [--write]

1. Asks every question of faq-bq-dev and policy-ncpqa-dev (each with oos-lcqmc-dev) through the
   service with the neutral decision (today's: answer whatever passes the in-domain gate) and keeps
   the rankers' signals and whether the top-1 / the three options are right (``--rows`` caches this).
2. k folds over all those questions: the four logistic models and the two thresholds are fitted on
   k−1 folds and the decision is applied to the held-out fold. Thresholds: among those that keep,
   on the training folds of each set, answered_wrong ≤ 0.45 × the neutral decision's and
   answered_right + clarified_right ≥ the neutral decision's answered_right, and out-of-scope
   declined ≥ 0.95, the one with the highest utility: right answer 1, right clarification 0.5,
   clarification without the answer among its options −0.25, decline 0 (wrong answers are
   bounded by the constraint: the service answers as often as that budget allows).
3. Prints the out-of-sample citizen-view rates beside the neutral decision's; the neighbouring-
   domain set (bench/neighbours.py: faq-bq-dev's bank questions against the policy corpus, and
   hand-written ones) and oos-lcqmc-dev against the shipped sample knowledge, with the final model.
4. ``--write``: fits on all folds and writes service/data/decision.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from bench_quality import CachingEncoder
from benchlib import REPO, code_version, log
from neighbours import neighbour_queries

from indexer.build import build_from, build_index
from indexer.encoders import DEFAULT_ENCODER, make_encoder
from indexer.store import load_index
from policyqa.evaluation.calibration import fit_logistic, folds
from policyqa.evaluation.dataset import Dataset, Query, load_datasets
from policyqa.evaluation.metrics import is_relevant
from service.answering import EXACT, Answerer, Trace
from service.decision import MODELS, DecisionModel, Logistic, save_decision

FAQ_SET, PASSAGE_SET, OOS_SET = "faq-bq-dev", "policy-ncpqa-dev", "oos-lcqmc-dev"
FEATURES = {
    "faq": (
        "raw",
        "confidence",
        "dense",
        "fused",
        "margin",
        "margin3",
        "dense_margin",
        "keyword",
        "agree",
        "neighbour",
        "length",
    ),
    "passage": (
        "raw",
        "confidence",
        "dense",
        "fused",
        "margin",
        "margin_doc",
        "keyword",
        "document",
        "agree",
        "same_doc",
        "length",
    ),
}
NEUTRAL = DecisionModel(
    {name: Logistic((), (), (), (), 60.0) for name in MODELS},
    0.5,
    0.5,
    "neutral: answers whatever passes the in-domain gate",
)
ANSWER_GRID = np.round(np.arange(0.30, 0.901, 0.025), 3)
CLARIFY_GRID = np.round(np.arange(0.15, 0.601, 0.025), 3)
WRONG_SHARE = 0.45  # answered_wrong allowed, as a share of the neutral decision's


# ---- 1. rows --------------------------------------------------------------------------------


def row_of(query: Query, trace: Trace, set_name: str) -> dict[str, Any]:
    faq_top = [("faq", i, "") for i in trace.faq_ranking[:3]]
    passages = [("passage", d, t) for d, t in trace.passage_ranking[:1]]
    options = [("passage", d, t) for d, t in trace.passage_options]
    return {
        "set": set_name,
        "in_scope": query.in_scope,
        # Empty when the question never reached the rankers (a hand-over or small talk).
        "admitted": {k: trace.admitted.get(k, False) for k in ("faq", "passage")},
        "faq": trace.faq_signals,
        "passage": trace.passage_signals,
        "labels": {
            "faq.right": bool(faq_top) and is_relevant(query, faq_top[0]),
            "faq.options": any(is_relevant(query, x) for x in faq_top),
            "passage.right": bool(passages) and is_relevant(query, passages[0]),
            "passage.options": any(is_relevant(query, x) for x in options),
        },
    }


def collect(answerer: Answerer, queries: Sequence[Query], set_name: str) -> list[dict[str, Any]]:
    answerer.ask("预热")
    rows = []
    for query in queries:
        _, trace = answerer.ask_traced(query.query)
        rows.append(row_of(query, trace, set_name))
    return rows


def collect_all(
    eval_dir: Path, work: Path, encoder_spec: str, done: dict[str, list[dict[str, Any]]]
) -> dict[str, list[dict[str, Any]]]:
    """Rows per set; sets already in ``done`` (the --rows cache) are not asked again."""
    encoder = CachingEncoder(make_encoder(encoder_spec))
    rows = dict(done)

    def ask(answerer: Answerer, queries: Sequence[Query], name: str) -> None:
        if name not in rows:
            log(f"{name}: asking {len(queries)} questions")
            rows[name] = collect(answerer, queries, name)

    for name in (FAQ_SET, PASSAGE_SET):
        wanted = [name] + (["neighbours@policy-ncpqa-dev"] if name == PASSAGE_SET else [])
        if all(w in rows for w in wanted):
            continue
        ds: Dataset = load_datasets([eval_dir / name, eval_dir / OOS_SET])
        log(f"{name}: indexing into {work / name} (vectors of an earlier run are re-used)")
        build_from(ds.knowledge, work / name, encoder=encoder)
        answerer = Answerer(load_index(work / name), encoder, decision=NEUTRAL)
        ask(answerer, ds.queries, name)
        if name == PASSAGE_SET:
            ask(answerer, neighbour_queries(eval_dir, limit=300), "neighbours@policy-ncpqa-dev")
    if "oos@sample" not in rows or "neighbours@sample" not in rows:
        log(f"sample knowledge: indexing {REPO / 'knowledge'} into {work / 'sample-knowledge'}")
        build_index(REPO / "knowledge", work / "sample-knowledge", encoder=encoder)
        answerer = Answerer(load_index(work / "sample-knowledge"), encoder, decision=NEUTRAL)
        ask(answerer, load_datasets([eval_dir / OOS_SET]).queries, "oos@sample")
        ask(answerer, neighbour_queries(eval_dir, limit=200), "neighbours@sample")
    return rows


# ---- 2. fitting and simulating ----------------------------------------------------------------


def matrix(rows: Sequence[dict[str, Any]], kind: str) -> np.ndarray:
    names = FEATURES[kind]
    return np.array([[r[kind].get(f, 0.0) for f in names] for r in rows], dtype=np.float64)


def fit_models(rows: Sequence[dict[str, Any]]) -> dict[str, Logistic]:
    models = {}
    for name in MODELS:
        kind = name.split(".")[0]
        admitted = [r for r in rows if r["admitted"][kind]]
        if not admitted:  # no such ranking in the data: answer whatever the gate admits
            models[name] = NEUTRAL.models[name]
            continue
        labels = np.array([r["labels"][name] for r in admitted], dtype=np.float64)
        models[name] = fit_logistic(matrix(admitted, kind), labels, FEATURES[kind])
    return models


def probabilities(models: dict[str, Logistic], rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """n × 4 (MODELS order); 0 where the in-domain gate refused that ranking."""
    out = np.zeros((len(rows), len(MODELS)))
    for j, name in enumerate(MODELS):
        kind = name.split(".")[0]
        model = models[name]
        for i, r in enumerate(rows):
            if r["admitted"][kind]:
                out[i, j] = model.probability(r[kind])
    # The service's rule for a curated question asked as written (service/answering.py).
    for i, r in enumerate(rows):
        if r["admitted"]["faq"] and r["faq"].get("dense", 0.0) >= EXACT:
            out[i, 0] = max(out[i, 0], r["faq"]["dense"])
    return out


def verdicts(p: np.ndarray, labels: np.ndarray, answer_at: float, clarify_at: float) -> np.ndarray:
    """Per row: 0 declined, 1 answered right, 2 answered wrong, 3 clarified right, 4 clarified
    wrong: DecisionModel.choose, vectorised. ``labels``: n × 4 (MODELS order)."""
    faq_r, faq_o, pas_r, pas_o = (p[:, j] for j in range(4))
    answer = np.maximum(faq_r, pas_r) >= answer_at
    answer_right = np.where(faq_r >= pas_r, labels[:, 0], labels[:, 2])
    clarify = ~answer & (np.maximum(faq_o, pas_o) >= clarify_at)
    faq_first = (faq_o >= clarify_at) & (
        (pas_o < clarify_at) | (faq_r > pas_r) | ((faq_r == pas_r) & (faq_o >= pas_o))
    )
    clarify_right = np.where(faq_first, labels[:, 1], labels[:, 3])
    out = np.zeros(len(p), dtype=np.int64)
    out[answer] = np.where(answer_right[answer], 1, 2)
    out[clarify] = np.where(clarify_right[clarify], 3, 4)
    return out


def rates(v: np.ndarray, in_scope: np.ndarray) -> dict[str, float | None]:
    def share(mask: np.ndarray, codes: tuple[int, ...]) -> float | None:
        return round(float(np.isin(v[mask], codes).mean()), 4) if mask.any() else None

    i, o = in_scope, ~in_scope
    return {
        "answered_right": share(i, (1,)),
        "answered_wrong": share(i, (2,)),
        "clarified_right": share(i, (3,)),
        "clarified_wrong": share(i, (4,)),
        "declined": share(i, (0,)),
        "out_of_scope_answered": share(o, (1, 2)),
        "out_of_scope_clarified": share(o, (3, 4)),
        "out_of_scope_declined": share(o, (0,)),
    }


def label_matrix(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    return np.array([[r["labels"][m] for m in MODELS] for r in rows], dtype=bool)


def choose_thresholds(
    rows: Sequence[dict[str, Any]], p: np.ndarray
) -> tuple[float, float, dict[str, Any]]:
    labels = label_matrix(rows)
    sets = np.array([r["set"] for r in rows])
    in_scope = np.array([r["in_scope"] for r in rows])
    neutral = verdicts(probabilities(NEUTRAL.models, rows), labels, 0.5, 0.5)
    limits = {}
    for name in (FAQ_SET, PASSAGE_SET):
        m = (sets == name) & in_scope
        if not m.any():
            continue
        limits[name] = (
            WRONG_SHARE * float((neutral[m] == 2).mean()),
            float((neutral[m] == 1).mean()),
        )
    best: tuple[float, float, float, float] | None = None  # (feasible, score, answer, clarify)
    for a in ANSWER_GRID:
        for c in CLARIFY_GRID:
            v = verdicts(p, labels, float(a), float(c))
            feasible, score = True, 0.0
            for name, (wrong_max, good_min) in limits.items():
                m = (sets == name) & in_scope
                right, wrong = float((v[m] == 1).mean()), float((v[m] == 2).mean())
                clarified_right, clarified_wrong = (float((v[m] == c).mean()) for c in (3, 4))
                feasible &= wrong <= wrong_max and right + clarified_right >= good_min
                # Answer as often as the wrong-answer budget allows; then clarify where it helps.
                score += right + 0.5 * clarified_right - 0.25 * clarified_wrong
            oos = ~in_scope
            feasible &= float((v[oos] == 0).mean()) >= 0.95
            key = (float(feasible), score, float(a), float(c))
            if best is None or key[:2] > best[:2]:
                best = key
    assert best is not None
    return best[2], best[3], {"feasible": bool(best[0]), "score": round(best[1], 4)}


def cross_validate(rows: list[dict[str, Any]], k: int) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Out-of-sample verdicts of every training row, and each fold's thresholds."""
    out = np.zeros(len(rows), dtype=np.int64)
    chosen = []
    labels = label_matrix(rows)
    for n, test in enumerate(folds(len(rows), k), 1):
        held = set(test.tolist())
        train = [r for i, r in enumerate(rows) if i not in held]
        models = fit_models(train)
        a, c, info = choose_thresholds(train, probabilities(models, train))
        test_rows = [rows[i] for i in test]
        out[test] = verdicts(probabilities(models, test_rows), labels[test], a, c)
        chosen.append({"fold": n, "answer_at": a, "clarify_at": c, **info})
        log(f"fold {n}/{k}: answer at {a}, clarify at {c} ({info})")
    return out, chosen


# ---- 3. report ----------------------------------------------------------------------------------


def report(rows: list[dict[str, Any]], k: int) -> tuple[dict[str, Any], DecisionModel]:
    train = [r for r in rows if r["set"] in (FAQ_SET, PASSAGE_SET)]
    extra = [r for r in rows if r["set"] not in (FAQ_SET, PASSAGE_SET)]
    cv, chosen = cross_validate(train, k)
    models = fit_models(train)
    a, c, info = choose_thresholds(train, probabilities(models, train))
    final = DecisionModel(models, a, c, "")
    result: dict[str, Any] = {"folds": chosen, "final": {"answer_at": a, "clarify_at": c, **info}}
    figures: dict[str, Any] = {}
    present = [n for n in (FAQ_SET, PASSAGE_SET) if any(r["set"] == n for r in rows)]
    for name in (*present, *sorted({r["set"] for r in extra})):
        part = [i for i, r in enumerate(rows) if r["set"] == name]
        sub = [rows[i] for i in part]
        labels = label_matrix(sub)
        in_scope = np.array([r["in_scope"] for r in sub])
        neutral = verdicts(probabilities(NEUTRAL.models, sub), labels, 0.5, 0.5)
        if name in (FAQ_SET, PASSAGE_SET):
            index = {id(r): i for i, r in enumerate(train)}
            decided = cv[[index[id(r)] for r in sub]]
            label = "cross-validated"
        else:
            decided = verdicts(probabilities(models, sub), labels, a, c)
            label = "final model (not trained on these)"
        figures[name] = {
            "questions": len(sub),
            "today": rates(neutral, in_scope),
            "decision": rates(decided, in_scope),
            "how": label,
        }
    result["figures"] = figures
    return result, final


def print_report(result: dict[str, Any]) -> None:
    print(f"decision fit — {result['date']}; code {result['code']}; {result['k']} folds")
    cols = ("answered_right", "answered_wrong", "clarified_right", "clarified_wrong", "declined")
    head = f"{'set':<30}{'decision':<10}" + "".join(f"{c.replace('_', ' '):>17}" for c in cols)
    head += f"{'OOS ans/clar/decl':>22}"
    print(head)
    print("-" * len(head))
    for name, f in result["figures"].items():
        for label in ("today", "decision"):
            r = f[label]
            cells = "".join(f"{'—' if r[c] is None else format(r[c], '.3f'):>17}" for c in cols)
            oos = "/".join(
                "—" if r[f"out_of_scope_{x}"] is None else f"{r[f'out_of_scope_{x}']:.3f}"
                for x in ("answered", "clarified", "declined")
            )
            print(f"{name:<30}{label:<10}{cells}{oos:>22}")
    print("(faq-bq-dev, policy-ncpqa-dev: each with oos-lcqmc-dev, decision figures out-of-fold)")
    for fold in result["folds"]:
        print(
            f"  fold {fold['fold']}: answer at {fold['answer_at']}, clarify at {fold['clarify_at']}"
        )
    final = result["final"]
    print(f"final (all folds): answer at {final['answer_at']}, clarify at {final['clarify_at']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--cache-dir", type=Path, help="keep the indexes here (re-used)")
    parser.add_argument("--rows", type=Path, help="cache of the collected signals (JSON)")
    parser.add_argument("--encoder", default=DEFAULT_ENCODER)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--write", action="store_true", help="write service/data/decision.json")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    eval_dir = args.eval_dir.resolve()
    missing = [n for n in (FAQ_SET, PASSAGE_SET, OOS_SET) if not (eval_dir / n).is_dir()]
    if missing:
        log(f"error: {eval_dir} lacks {', '.join(missing)} (see --eval-dir)")
        return 2
    started = time.perf_counter()
    done: dict[str, list[dict[str, Any]]] = {}
    if args.rows and args.rows.is_file():
        log(f"signals read from {args.rows}")
        done = json.loads(args.rows.read_text("utf-8"))
    with tempfile.TemporaryDirectory(prefix="policyqa-fit-") as tmp:
        work = args.cache_dir.resolve() if args.cache_dir else Path(tmp)
        per_set = collect_all(eval_dir, work, args.encoder, done)
    if args.rows:
        args.rows.write_text(json.dumps(per_set, ensure_ascii=False), "utf-8")
    rows = [row for name in sorted(per_set) for row in per_set[name]]
    result, final = report(rows, args.folds)
    result.update(
        date=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        code=code_version(),
        k=args.folds,
        seconds=round(time.perf_counter() - started, 1),
    )
    if args.write:
        figures = {name: f["decision"] for name, f in result["figures"].items() if name != "how"}
        note = (
            f"bench/fit_decision.py, {result['date'][:10]}, {args.folds}-fold; out-of-sample: "
            + json.dumps(figures, ensure_ascii=False)
        )
        path = REPO / "service" / "data" / "decision.json"
        save_decision(DecisionModel(final.models, final.answer_at, final.clarify_at, note), path)
        log(f"wrote {path}")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
