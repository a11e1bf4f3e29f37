"""BM25 keyword index over jieba tokens: Lucene's variant (no (k1+1) factor), as bm25s scores it.

Persisted as plain files in one folder: ``vocab.json`` (token → column), ``params.json`` (k1, b,
document count, average length, format version) and the CSR matrix of per-(token, row) BM25
weights as ``data.npy``, ``indices.npy`` and ``indptr.npy`` (rows are tokens). No pickle.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy import sparse

FORMAT_VERSION = 1
# Below this many (token, row) cells the weights are also kept as a dense array in memory: a
# query's score is then a sum of a few rows (a small FAQ or document index, ≤ 16 MiB).
DENSE_CELLS = 4_000_000


class KeywordIndex:
    def __init__(
        self,
        vocab: dict[str, int],
        weights: sparse.csr_matrix,
        idf: np.ndarray,
        *,
        k1: float,
        b: float,
        avgdl: float,
    ) -> None:
        self.vocab = vocab
        self.weights = weights  # shape (len(vocab), rows)
        self.idf = idf
        self.k1, self.b, self.avgdl = k1, b, avgdl
        # Scoring reads the CSR arrays directly: scipy's fancy indexing validates and copies a
        # new matrix on every call, which cost more than the arithmetic.
        self._indptr, self._indices, self._data = weights.indptr, weights.indices, weights.data
        cells = weights.shape[0] * weights.shape[1]
        self._dense = weights.toarray() if 0 < cells <= DENSE_CELLS else None

    @property
    def rows(self) -> int:
        return int(self.weights.shape[1])

    @property
    def dense(self) -> bool:
        """Whether scoring reads a dense copy of the weights (small indexes) or the CSR arrays."""
        return self._dense is not None

    @classmethod
    def build(
        cls, docs: Sequence[Sequence[str]], *, k1: float = 1.5, b: float = 0.75
    ) -> KeywordIndex:
        n = len(docs)
        vocab: dict[str, int] = {}
        rows, cols, tfs = [], [], []
        lengths = np.array([len(d) for d in docs], dtype=np.float64)
        for j, tokens in enumerate(docs):
            for token, tf in Counter(tokens).items():
                rows.append(vocab.setdefault(token, len(vocab)))
                cols.append(j)
                tfs.append(tf)
        avgdl = float(lengths.mean()) if n and lengths.sum() else 1.0
        tf_arr = np.array(tfs, dtype=np.float64)
        col_arr = np.array(cols, dtype=np.int64)
        df = np.bincount(np.array(rows, dtype=np.int64), minlength=len(vocab)).astype(np.float64)
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        norm = k1 * (1 - b + b * lengths[col_arr] / avgdl) if n else np.zeros(0)
        data = idf[np.array(rows, dtype=np.int64)] * tf_arr / (tf_arr + norm)
        weights = sparse.csr_matrix(
            (data.astype(np.float32), (np.array(rows, dtype=np.int64), col_arr)),
            shape=(len(vocab), n),
        )
        return cls(vocab, weights, idf.astype(np.float32), k1=k1, b=b, avgdl=avgdl)

    def scores(
        self, tokens: Sequence[str], token_weights: Sequence[float] | None = None
    ) -> np.ndarray:
        """BM25 score of every row for a tokenised query (each distinct token counted once)."""
        uniq = list(dict.fromkeys(tokens))
        ids, w = [], []
        for i, t in enumerate(uniq):
            if t in self.vocab:
                ids.append(self.vocab[t])
                w.append(1.0 if token_weights is None else float(token_weights[i]))
        if not ids:
            return np.zeros(self.rows, dtype=np.float32)
        if self._dense is not None:
            if token_weights is None:
                return self._dense[ids].sum(axis=0, dtype=np.float32)
            return np.array(w, dtype=np.float32) @ self._dense[ids]
        out = np.zeros(self.rows, dtype=np.float32)
        for token, weight in zip(ids, w, strict=True):
            start, end = self._indptr[token], self._indptr[token + 1]
            # A token occurs at most once per row, so the fancy += adds each row once.
            out[self._indices[start:end]] += self._data[start:end] * np.float32(weight)
        return out

    def idf_of(self, token: str) -> float:
        """IDF of a token; an unseen token gets the IDF of a token in no row."""
        i = self.vocab.get(token)
        if i is not None:
            return float(self.idf[i])
        return math.log(1.0 + (self.rows + 0.5) / 0.5)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), "utf-8")
        params = {
            "format_version": FORMAT_VERSION,
            "k1": self.k1,
            "b": self.b,
            "avgdl": self.avgdl,
            "rows": self.rows,
            "tokens": len(self.vocab),
        }
        (folder / "params.json").write_text(json.dumps(params, indent=2), "utf-8")
        np.save(folder / "data.npy", self.weights.data, allow_pickle=False)
        np.save(folder / "indices.npy", self.weights.indices, allow_pickle=False)
        np.save(folder / "indptr.npy", self.weights.indptr, allow_pickle=False)
        np.save(folder / "idf.npy", self.idf, allow_pickle=False)

    @classmethod
    def load(cls, folder: Path) -> KeywordIndex:
        params = json.loads((folder / "params.json").read_text("utf-8"))
        if params.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"unsupported keyword index format {params.get('format_version')}")
        vocab = json.loads((folder / "vocab.json").read_text("utf-8"))
        arrays = [
            np.load(folder / f"{n}.npy", allow_pickle=False)
            for n in ("data", "indices", "indptr", "idf")
        ]
        weights = sparse.csr_matrix(
            (arrays[0], arrays[1], arrays[2]), shape=(params["tokens"], params["rows"])
        )
        return cls(vocab, weights, arrays[3], k1=params["k1"], b=params["b"], avgdl=params["avgdl"])
