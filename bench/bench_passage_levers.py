"""Measures two levers of the passage path on ``policy-ncpqa-dev`` (+ ``oos-lcqmc-dev``), on an
index built earlier (read-only), and prints a table of hit@1, MRR@10 and what the citizen sees.

    .venv/bin/python bench/bench_passage_levers.py --index-dir DIR [--eval-dir DIR]
        [--grid rocchio:3:0.3,rm3:5:0.3 ...] [--runs baseline,best-rocchio,best-rm3]
        [--dense-sentences] [--json]

1. Pseudo-relevance feedback (PRF), re-ranking with what the first ranking's top k chunks say:

   - ``rocchio:k:b``: the dense query moved towards the top k chunks,
     q' = normalise(q + b · mean of their vectors); FAISS candidates and the fused cosine use q'.
   - ``rm3:k:b[:m]``: the m (default 10) words of highest BM25 weight in the top k chunks (each
     chunk's weights summed to 1, averaged over the chunks), not in the question, are added to
     the chunk BM25 with weight b times their share (the question's own words keep weight 1).

   Only the ranking changes: the passage confidence (its raw score) is computed for the new top
   chunk with the question's own vector, so the answering, clarify and scope gates, fitted on
   unexpanded cosines, read the same scale. Every PRF setting of ``--grid`` is ranked first by
   search alone (hit@1, MRR@10 over the in-scope questions: seconds each); the best Rocchio and
   the best RM3 (by hit@1, then MRR@10) then go through the real answering path.

2. Sentence-window excerpts: the excerpt centred on the chunk's sentence that best matches the
   question (the question's words in it, weighted by IDF) instead of the chunk's opening, at most
   300 characters. Its ceiling is printed first: how many answers or clarifications shown the
   right top chunk but an excerpt without the answer string (``is_relevant`` judges the
   excerpt), and how many chunks are longer than the excerpt limit at all. The ``window`` run is
   skipped when no chunk is (the window would be the whole chunk, as today) unless ``--runs``
   names it. Aimed at the document instead (its chunks are the sentence windows), the same idea
   picks, among the top document's chunks, the one with the best-matching sentence (by IDF
   overlap; with ``--dense-sentences`` also by sentence cosine); printed as ``focus:`` rows,
   with how the first passage goes wrong (rank 1, right document but another chunk, another
   document, the answer string in no chunk at all).

Full runs (``--runs``): ``policyqa.evaluation.run.run_traced`` on one ``Answerer`` with the
lever patched in (the query vectors are cached by the answerer after the first run).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from benchlib import REPO, code_version, log

import service.answering as answering
from indexer.encoders import make_encoder, spec_of
from indexer.models import Chunk, Disclosure, DocumentMeta
from indexer.sentences import MAX_EXCERPT, split_sentences
from indexer.store import load_index
from policyqa.evaluation.dataset import Dataset, load_datasets
from policyqa.evaluation.metrics import Outcome, first_relevant, is_relevant
from policyqa.evaluation.run import run_traced, summarise
from service.answering import Answerer
from service.citations import Source, cite
from service.confidence import calibrate
from service.passages import PassageHit, PassageResult, PassageRetriever
from service.query import QueryRep, prepare
from service.tuning import tuning_for

POLICY_SET, OOS_SET = "policy-ncpqa-dev", "oos-lcqmc-dev"
GRID = (
    "rocchio:3:0.2,rocchio:3:0.5,rocchio:5:0.3,rocchio:10:0.3,"
    "rm3:3:0.2,rm3:3:0.5,rm3:5:0.3,rm3:10:0.3"
)
RUNS = "baseline,best-rocchio,best-rm3"


# ---- pseudo-relevance feedback -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Prf:
    mode: str  # "rocchio" or "rm3"
    k: int
    b: float
    m: int = 10

    @classmethod
    def parse(cls, text: str) -> Prf:
        mode, *numbers = text.split(":")
        if mode not in ("rocchio", "rm3") or len(numbers) not in (2, 3):
            raise argparse.ArgumentTypeError(f"not a PRF setting: {text}")
        m = int(numbers[2]) if len(numbers) == 3 else 10
        return cls(mode, int(numbers[0]), float(numbers[1]), m)

    def __str__(self) -> str:
        tail = f":{self.m}" if self.mode == "rm3" and self.m != 10 else ""
        return f"{self.mode}:{self.k}:{self.b:g}{tail}"


class PrfSearch:
    """``PassageRetriever.search`` with a second, re-ranking pass (the first pass as is)."""

    def __init__(self, retriever: PassageRetriever, prf: Prf) -> None:
        self.r, self.prf = retriever, prf
        self.by_column = retriever.keywords.weights.tocsc()
        self.words = [""] * len(retriever.keywords.vocab)
        for word, i in retriever.keywords.vocab.items():
            self.words[i] = word
        self.row_of_id = {c.id: row for row, c in enumerate(retriever.chunks)}

    def __call__(self, query: QueryRep, *, limit: int = 10) -> PassageResult:
        first = PassageRetriever.search(self.r, query, limit=max(limit, self.prf.k))
        if not first.hits:
            return first
        rows = [self.row_of_id[h.chunk.id] for h in first.hits[: self.prf.k]]
        if self.prf.mode == "rocchio":
            moved = query.vector + self.prf.b * self.r.vectors.vectors[rows].mean(axis=0)
            moved = (moved / np.linalg.norm(moved)).astype(query.vector.dtype)
            return self._search(query, moved, None, limit)
        return self._search(query, query.vector, self._expansion(query, rows), limit)

    def _expansion(self, query: QueryRep, rows: list[int]) -> np.ndarray | None:
        share: dict[int, float] = {}
        for row in rows:
            start, end = self.by_column.indptr[row], self.by_column.indptr[row + 1]
            ids, weights = self.by_column.indices[start:end], self.by_column.data[start:end]
            total = float(weights.sum()) or 1.0
            for i, w in zip(ids.tolist(), weights.tolist(), strict=True):
                share[i] = share.get(i, 0.0) + w / total / len(rows)
        own = set(query.words)
        terms = sorted(
            ((s, i) for i, s in share.items() if self.words[i] not in own), reverse=True
        )[: self.prf.m]
        if not terms:
            return None
        top = terms[0][0]
        words = [self.words[i] for _, i in terms]
        return self.r.keywords.scores(words, [self.prf.b * s / top for s, _ in terms])

    def _search(
        self, query: QueryRep, vector: np.ndarray, extra_kw: np.ndarray | None, limit: int
    ) -> PassageResult:
        """service/passages.py's search with the ranking's vector and an added keyword score."""
        r, t = self.r, self.r.tuning
        chunk_kw = r.keywords.scores(query.words)
        if extra_kw is not None:
            chunk_kw = chunk_kw + extra_kw
        doc_kw = r.doc_keywords.scores(query.words)
        _, dense_ids = r.vectors.search(vector, t.candidates)
        rows = set(np.argsort(-chunk_kw)[: t.candidates].tolist())
        rows.update(r.vectors.row_of(int(i)) for i in dense_ids if i >= 0)
        for d in np.argsort(-doc_kw)[:3]:
            if doc_kw[d] > 0:
                rows.update(r.rows_of_doc.get(r.metas[int(d)].id, []))
        cand = np.fromiter(rows, dtype=np.int64)
        cosine = r.vectors.vectors[cand] @ vector
        top_kw, top_doc = float(chunk_kw.max()), float(doc_kw.max())
        fused = t.passage_dense_weight * cosine
        if top_kw > 0:
            fused = fused + t.passage_keyword_weight * chunk_kw[cand] / top_kw
        if top_doc > 0:
            fused = fused + t.passage_document_weight * doc_kw[r.chunk_doc[cand]] / top_doc
        fused = fused * r.doc_penalty[r.chunk_doc[cand]]
        order = np.argsort(-fused)[:limit]
        hits = [
            PassageHit(r.chunks[int(cand[i])], r.metas[int(r.chunk_doc[cand[i]])], float(fused[i]))
            for i in order
        ]
        # The confidence as today, for the new top chunk: the question's own cosines.
        own_scores, _ = r.vectors.search(query.vector, 1)
        best_cos = float(own_scores[0]) if len(own_scores) else 0.0
        top_row = int(cand[order[0]])
        top_cos = float(r.vectors.vectors[top_row] @ query.vector)
        raw = (best_cos + top_cos + r._doc_coverage(query, top_row)) / 3
        confidence = calibrate(raw, threshold=t.passage_threshold, scale=t.confidence_scale)
        return PassageResult(hits, raw, confidence)


# ---- sentence-window excerpts --------------------------------------------------------------------


def window(text: str, question_words: Sequence[str], idf: Callable[[str], float]) -> str:
    """At most MAX_EXCERPT characters of ``text``, verbatim (an ellipsis marks a cut end), around
    its sentence holding the most IDF of the question's words (the opening when none holds any)."""
    text = text.strip()
    if len(text) <= MAX_EXCERPT:
        return text
    sentences = split_sentences(text) or [text]
    words = [w for w in dict.fromkeys(question_words) if w.strip()]
    scores = [sum(idf(w) for w in words if w in s) for s in sentences]
    best = int(np.argmax(scores)) if max(scores) > 0 else 0
    centre = max(text.find(sentences[best]), 0) + len(sentences[best]) // 2
    room = MAX_EXCERPT - 2  # an ellipsis at either end
    begin = min(max(0, centre - room // 2), len(text) - room)
    return ("…" if begin else "") + text[begin : begin + room] + "…" * (begin + room < len(text))


def window_cite(answerer: Answerer) -> Callable[..., Source]:
    """``cite`` with the sentence-window excerpt for the question being answered: the passage
    search (wrapped here) records the question's words, the answer's ``cite`` calls use them."""
    question: list[Sequence[str]] = [[]]
    search = answerer.passages.search
    idf = answerer.passages.keywords.idf_of

    def recording(query: QueryRep, **kw: Any) -> PassageResult:
        question[0] = query.words
        return search(query, **kw)

    def windowed(meta: DocumentMeta, chunk: Chunk | None, *, section: str | None = None) -> Source:
        source = cite(meta, chunk, section=section)
        if chunk is None or meta.disclosure != Disclosure.PUBLIC:
            return source
        return dataclasses.replace(source, excerpt=window(chunk.text, question[0], idf))

    answerer.passages.search = recording  # type: ignore[method-assign]
    return windowed


def sentence_overlap(text: str, words: Sequence[str], idf: Callable[[str], float]) -> float:
    """The IDF of the question's words held by the text's best sentence."""
    return max(sum(idf(w) for w in words if w in s) for s in split_sentences(text) or [text])


def focus(
    retriever: PassageRetriever, prepared: list[Any], encoder: Any | None
) -> tuple[dict[str, int], dict[str, dict[str, float]]]:
    """Where the first passage goes wrong, and the sentence lever aimed at the document: the
    top document's chunk chosen by its best sentence (IDF overlap with the question; with
    ``encoder``, also the best sentence's cosine, every sentence of the top documents embedded
    here) instead of the fused score. Only the first passage changes, so only hit@1 is given."""
    idf = retriever.keywords.idf_of
    by_doc: dict[str, list[str]] = {}
    for c in retriever.chunks:
        by_doc.setdefault(c.doc_id, []).append(c.text)
    tops = [(q, rep, retriever.search(rep).hits[0].chunk) for q, rep in prepared]
    sentence_vectors: dict[int, np.ndarray] = {}
    if encoder is not None:
        rows = sorted({row for _, _, top in tops for row in retriever.rows_of_doc[top.doc_id]})
        log(f"embedding the sentences of {len(rows)} chunks (the top documents')")
        for row in rows:
            text = retriever.chunks[row].text
            sentence_vectors[row] = encoder.encode_passages(split_sentences(text) or [text])
    cases: dict[str, int] = {}
    right: dict[str, int] = {}
    for q, rep, top in tops:
        answer_chunks = [t for d in q.relevant for t in by_doc.get(d, []) if q.answer in t]
        case = (
            "rank 1"
            if top.doc_id in q.relevant and q.answer in top.text
            else "answer in no chunk"
            if not answer_chunks
            else "right document, other chunk"
            if top.doc_id in q.relevant
            else "other document"
        )
        cases[case] = cases.get(case, 0) + 1
        rows = retriever.rows_of_doc[top.doc_id]
        words = [w for w in dict.fromkeys(rep.words) if w.strip()]
        kw = retriever.keywords.scores(rep.words)[rows]
        kw = kw / (kw.max() or 1.0)
        cos = retriever.vectors.vectors[rows] @ rep.vector
        fused = 0.2 * cos + 0.8 * kw  # the fused score within one document (tuning's weights)
        sent = np.array([sentence_overlap(retriever.chunks[i].text, words, idf) for i in rows])
        choices = {
            "focus: sentence words": sent + 1e-3 * kw,
            "focus: 0.5 sentence words + fused": 0.5 * sent / (sent.max() or 1.0) + fused,
            "focus: sentence words + fused": sent / (sent.max() or 1.0) + fused,
        }
        if sentence_vectors:
            scos = np.array([float((sentence_vectors[i] @ rep.vector).max()) for i in rows])
            choices["focus: sentence cosine"] = scos
            choices["focus: sentence cosine + fused"] = 0.2 * scos + fused
            choices["focus: sentence cosine for chunk cosine"] = 0.2 * scos + 0.8 * kw
        for name, score in choices.items():
            chosen = retriever.chunks[rows[int(np.argmax(score))]]
            hit = top.doc_id in q.relevant and bool(q.answer) and q.answer in chosen.text
            right[name] = right.get(name, 0) + hit
    n = len(tops)
    return cases, {name: {"hit@1": round(v / n, 4)} for name, v in right.items()}


# ---- runs ----------------------------------------------------------------------------------------


def ranking_only(
    retriever: PassageRetriever, search: Callable[..., PassageResult], prepared: list[Any]
) -> dict[str, float]:
    """hit@1 and MRR@10 of the passage ranking alone over the in-scope questions."""
    ranks = []
    for query, rep in prepared:
        hits = search(rep).hits
        ranks.append(
            first_relevant(query, [("passage", h.chunk.doc_id, h.chunk.text) for h in hits])
        )
    n = len(ranks)
    return {
        "hit@1": round(sum(r == 1 for r in ranks) / n, 4),
        "mrr@10": round(sum(1 / r for r in ranks if r) / n, 4),
    }


def excerpt_ceiling(outcomes: Sequence[tuple[Outcome, Any]]) -> dict[str, int]:
    """Answers and clarifications whose top-ranked chunk holds the answer string while the excerpt
    shown of it does not (what a different excerpt of the same chunk could win)."""
    missed = 0
    for outcome, trace in outcomes:
        if outcome.kind != "passage" or not (outcome.answered or outcome.clarified):
            continue
        if outcome.rank != 1 or not outcome.shown:
            continue
        doc_id, text = trace.passage_ranking[0]
        if not any(
            item[1] == doc_id and is_relevant(outcome.query, item) for item in outcome.shown
        ):
            missed += 1
    return {"right_chunk_excerpt_misses_answer": missed}


def answer_in_chunks(ds: Dataset, retriever: PassageRetriever) -> dict[str, int]:
    """In-scope questions whose answer string is in no chunk of a relevant document (no ranking
    or excerpt can be judged right), and how many of those differ only in whitespace."""
    by_doc: dict[str, list[str]] = {}
    for c in retriever.chunks:
        by_doc.setdefault(c.doc_id, []).append(c.text)
    squeeze = re.compile(r"\s+")
    nowhere = whitespace = 0
    for q in ds.queries:
        if not q.relevant or not q.answer:
            continue
        texts = [t for d in q.relevant for t in by_doc.get(d, [])]
        if any(q.answer in t for t in texts):
            continue
        nowhere += 1
        bare = squeeze.sub("", q.answer)
        whitespace += any(bare in squeeze.sub("", t) for t in texts)
    return {"answer_in_no_chunk": nowhere, "of_which_whitespace_only": whitespace}


def full_run(answerer: Answerer, ds: Dataset) -> tuple[dict[str, Any], list[tuple[Outcome, Any]]]:
    started = time.perf_counter()
    traced = run_traced(answerer, ds)
    s = summarise([o for o, _ in traced], 0.0)
    ins, oos = s["in_scope"], s["out_of_scope"]
    row = {
        "hit@1": s["recall@1"],
        "mrr@10": s["mrr@10"],
        **{k: ins[k] for k in ins},
        "oos_declined": oos["declined"],
        "seconds": round(time.perf_counter() - started, 1),
    }
    return row, traced


COLUMNS = (
    ("hit@1", "hit@1"),
    ("mrr@10", "MRR@10"),
    ("answered_right", "ans.right"),
    ("answered_wrong", "ans.wrong"),
    ("clarified_right", "clar.right"),
    ("clarified_wrong", "clar.wrong"),
    ("declined", "declined"),
    ("oos_declined", "OOS decl."),
)


def table(rows: dict[str, dict[str, Any]]) -> str:
    width = max(len(n) for n in rows) + 2
    lines = [f"{'run':<{width}}" + "".join(f"{h:>11}" for _, h in COLUMNS)]
    for name, row in rows.items():
        cells = "".join(
            f"{row[k]:>11.4f}" if isinstance(row.get(k), float) else f"{'':>11}" for k, _ in COLUMNS
        )
        lines.append(f"{name:<{width}}{cells}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, required=True, help="built from the two sets")
    parser.add_argument("--eval-dir", type=Path, default=REPO.parent / "shared" / "eval")
    parser.add_argument("--grid", default=GRID, help="comma-separated PRF settings")
    parser.add_argument(
        "--runs",
        help=f"full runs, comma-separated: baseline, best-rocchio, best-rm3, window or a PRF "
        f"setting (default {RUNS}, + window when a chunk is longer than the excerpt)",
    )
    parser.add_argument(
        "--dense-sentences",
        action="store_true",
        help="also choose the top document's chunk by sentence cosine (embeds the ~13,000 "
        "sentences of the top documents' chunks)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    grid = [Prf.parse(s) for s in args.grid.split(",") if s]
    runs = [s for s in (args.runs or RUNS).split(",") if s]

    log(f"code {code_version()}, load {os.getloadavg()[0]:.2f}")
    ds = load_datasets([args.eval_dir / POLICY_SET, args.eval_dir / OOS_SET])
    index = load_index(args.index_dir)
    encoder = make_encoder(spec_of(index.encoder_identity, None), threads=os.cpu_count())
    answerer = Answerer(index, encoder, tuning=tuning_for(encoder.identity))
    answerer.ask("预热")
    retriever = answerer.passages
    result: dict[str, Any] = {"code": code_version(), **answer_in_chunks(ds, retriever)}
    longer = sum(len(c.text.strip()) > MAX_EXCERPT for c in retriever.chunks)
    result.update(chunks=len(retriever.chunks), chunks_longer_than_excerpt=longer)
    if args.runs is None and longer:
        runs.append("window")

    log(f"ranking only: {len(grid) + 1} settings on the in-scope questions")
    prepared = [(q, prepare(q.query, answerer.encode)) for q in ds.queries if q.relevant]
    ranked = {"baseline": ranking_only(retriever, retriever.search, prepared)}
    for prf in grid:
        ranked[str(prf)] = ranking_only(retriever, PrfSearch(retriever, prf), prepared)
        log(f"  {prf}: {ranked[str(prf)]}")
    cases, focused = focus(retriever, prepared, encoder if args.dense_sentences else None)
    result["first_passage"] = cases
    ranked.update(focused)
    result["ranking_only"] = ranked
    best: dict[str, Prf | None] = {
        mode: max(
            (p for p in grid if p.mode == mode),
            key=lambda p: (ranked[str(p)]["hit@1"], ranked[str(p)]["mrr@10"]),
            default=None,
        )
        for mode in ("rocchio", "rm3")
    }

    rows: dict[str, dict[str, Any]] = {}
    original_search, original_cite = retriever.search, answering.cite
    for run in runs:
        lever = best.get(run.removeprefix("best-")) if run.startswith("best-") else None
        if run.startswith("best-") and lever is None:
            continue
        name = f"{run} ({lever})" if lever else run
        if run.startswith(("rocchio:", "rm3:")):
            lever = Prf.parse(run)
        retriever.search = PrfSearch(retriever, lever) if lever else original_search  # type: ignore[method-assign]
        if run == "window":
            answering.cite = window_cite(answerer)
        log(f"full run: {name}")
        rows[name], traced = full_run(answerer, ds)
        log(f"  {rows[name]}")
        if run == "baseline":
            result.update(excerpt_ceiling(traced))
        retriever.search = original_search  # type: ignore[method-assign]
        answering.cite = original_cite
    result["full_runs"] = rows

    print(f"policy-ncpqa-dev + oos-lcqmc-dev, index {args.index_dir}, code {result['code']}")
    print(
        f"answer string in no chunk of a relevant document: {result['answer_in_no_chunk']} "
        f"questions ({result['of_which_whitespace_only']} differ only in whitespace)"
    )
    print(
        f"excerpt: {result['chunks_longer_than_excerpt']} of {result['chunks']} chunks exceed "
        f"{MAX_EXCERPT} characters; answers/clarifications showing the right top chunk without "
        f"its answer string: {result.get('right_chunk_excerpt_misses_answer', '(no baseline run)')}"
    )
    print(f"first passage of the in-scope questions: {result['first_passage']}")
    print("\nranking only (in-scope questions, passage search alone)")
    print(table(ranked))
    print("\nfull answering path (run_traced + summarise)")
    print(table(rows))
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
