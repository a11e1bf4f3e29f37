"""Dense vector store: FAISS inner-product search whose ids are the project's own stable ids.

The vectors are persisted as a plain ``.npy`` array row-aligned with the records they belong to;
the FAISS index (``IndexIDMap2`` over ``IndexFlatIP``) is built from them when loading.
"""

from __future__ import annotations

import faiss
import numpy as np

# A serving process limits FAISS to one thread: service/runtime.py (not done at import).


class VectorStore:
    def __init__(self, vectors: np.ndarray, ids: np.ndarray) -> None:
        if len(vectors) != len(ids):
            raise ValueError("vectors and ids differ in length")
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.ids = np.asarray(ids, dtype=np.int64)
        self.dim = int(self.vectors.shape[1]) if self.vectors.ndim == 2 else 0
        self._row_of = {int(i): r for r, i in enumerate(self.ids)}
        self.index = faiss.IndexIDMap2(faiss.IndexFlatIP(max(self.dim, 1)))
        if len(self.ids):
            self.index.add_with_ids(self.vectors, self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) for one L2-normalised query vector; ids are -1 past the end."""
        if not len(self.ids):
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        scores, ids = self.index.search(q, min(k, len(self.ids)))
        return scores[0], ids[0]

    def all_scores(self, query: np.ndarray) -> np.ndarray:
        """Cosine of the query with every row, in row order (for fusion over all candidates)."""
        if not len(self.ids):
            return np.zeros(0, dtype=np.float32)
        return self.vectors @ query.astype(np.float32).ravel()

    def row_of(self, id_: int) -> int:
        return self._row_of[id_]
