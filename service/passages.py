"""Hybrid retrieval of policy passages.

Candidates come from the chunk BM25 index and from FAISS; they are ranked by a weighted fusion of
chunk BM25, document BM25 (the document a passage belongs to often names the place or body the
question asks about) and cosine similarity. Documents that are no longer current rank below
current ones. Confidence rests on the cosine similarities and on how much of the question the
top document covers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from indexer.models import Chunk, DocumentMeta
from indexer.store import LoadedIndex
from service.confidence import calibrate, coverage
from service.query import QueryRep
from service.tuning import Tuning


@dataclass(frozen=True)
class PassageHit:
    chunk: Chunk
    meta: DocumentMeta
    score: float


@dataclass(frozen=True)
class PassageResult:
    hits: list[PassageHit]  # best first
    raw: float
    confidence: float


class PassageRetriever:
    def __init__(self, index: LoadedIndex, tuning: Tuning) -> None:
        self.tuning = tuning
        self.chunks = index.chunks
        self.metas = [record.meta for record in index.documents.values()]
        doc_row = {meta.id: i for i, meta in enumerate(self.metas)}
        self.chunk_doc = np.array([doc_row[c.doc_id] for c in self.chunks], dtype=np.int64)
        self.vectors = index.chunk_vectors
        self.keywords = index.chunk_keywords
        self.doc_keywords = index.doc_keywords
        penalty = [1.0 if m.is_current else tuning.outdated_penalty for m in self.metas]
        self.doc_penalty = np.array(penalty, dtype=np.float32)
        self.rows_of_doc: dict[str, list[int]] = {}
        for row, chunk in enumerate(self.chunks):
            self.rows_of_doc.setdefault(chunk.doc_id, []).append(row)

    def search(self, query: QueryRep, *, limit: int = 10) -> PassageResult:
        if not self.chunks:
            return PassageResult([], 0.0, 0.0)
        t = self.tuning
        chunk_kw = self.keywords.scores(query.words)
        doc_kw = self.doc_keywords.scores(query.words)
        dense_scores, dense_ids = self.vectors.search(query.vector, t.candidates)
        rows = set(np.argsort(-chunk_kw)[: t.candidates].tolist())
        rows.update(self.vectors.row_of(int(i)) for i in dense_ids if i >= 0)
        best_docs = np.argsort(-doc_kw)[:3]
        for d in best_docs:
            if doc_kw[d] > 0:
                rows.update(self.rows_of_doc.get(self.metas[int(d)].id, []))
        cand = np.fromiter(rows, dtype=np.int64)
        cosine = self.vectors.vectors[cand] @ query.vector
        top_kw, top_doc = float(chunk_kw.max()), float(doc_kw.max())
        fused = t.passage_dense_weight * cosine
        if top_kw > 0:
            fused = fused + t.passage_keyword_weight * chunk_kw[cand] / top_kw
        if top_doc > 0:
            fused = fused + t.passage_document_weight * doc_kw[self.chunk_doc[cand]] / top_doc
        fused = fused * self.doc_penalty[self.chunk_doc[cand]]
        order = np.argsort(-fused)[:limit]
        hits = [
            PassageHit(
                self.chunks[int(cand[i])], self.metas[int(self.chunk_doc[cand[i]])], float(fused[i])
            )
            for i in order
        ]
        best_cos = float(dense_scores[0]) if len(dense_scores) else 0.0
        top_row = int(cand[order[0]])
        raw = (best_cos + float(cosine[order[0]]) + self._doc_coverage(query, top_row)) / 3
        confidence = calibrate(raw, threshold=t.passage_threshold, scale=t.confidence_scale)
        return PassageResult(hits, raw, confidence)

    def _doc_coverage(self, query: QueryRep, row: int) -> float:
        kw = self.doc_keywords
        doc = int(self.chunk_doc[row])
        token_idf = {tok: kw.idf_of(tok) for tok in dict.fromkeys(query.words)}
        ids = [(tok, kw.vocab[tok]) for tok in token_idf if tok in kw.vocab]
        present = {tok for tok, i in ids if kw.weights[i, doc] > 0}
        return coverage(token_idf, present)

    def best_in_document(self, query: QueryRep, doc_id: str) -> Chunk | None:
        """The passage of one document closest to the question (e.g. its interpretation draft)."""
        rows = self.rows_of_doc.get(doc_id)
        if not rows:
            return None
        kw = self.keywords.scores(query.words)[rows]
        cosine = self.vectors.vectors[rows] @ query.vector
        top = float(kw.max())
        fused = cosine + (kw / top if top > 0 else 0)
        return self.chunks[rows[int(np.argmax(fused))]]
