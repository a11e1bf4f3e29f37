"""indexer.vectors.VectorStore (FAISS IndexIDMap2 over IndexFlatIP) against brute-force numpy,
with arbitrary 63-bit ids, and on the real chunk vectors of the sample index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from indexer.store import load_index
from indexer.vectors import VectorStore


def _unit(rows: np.ndarray) -> np.ndarray:
    rows = rows.astype(np.float32)
    return rows / np.linalg.norm(rows, axis=-1, keepdims=True)


def _assert_top_k(store: VectorStore, query: np.ndarray, k: int) -> None:
    """FAISS top-k equals numpy's argsort of vectors @ query (ties may come in any order)."""
    exact = store.vectors @ query
    order = np.argsort(-exact, kind="stable")[: min(k, len(store))]
    scores, ids = store.search(query, k)
    assert len(ids) == len(order)
    np.testing.assert_allclose(scores, exact[order], rtol=0, atol=1e-5)
    # Each returned id is a real id whose own score is the one reported.
    rows = [store.row_of(int(i)) for i in ids]
    np.testing.assert_allclose(exact[rows], scores, rtol=0, atol=1e-5)
    assert len(set(ids.tolist())) == len(ids)
    # Away from ties, the ids are exactly numpy's.
    gaps = np.abs(np.diff(exact[order])) > 1e-4
    for rank in range(len(order)):
        clear_above = rank == 0 or gaps[rank - 1]
        clear_below = rank == len(order) - 1 or gaps[rank]
        if clear_above and clear_below:
            assert ids[rank] == store.ids[order[rank]]


@pytest.mark.parametrize(("n", "dim"), [(1, 8), (50, 16), (3000, 64), (2000, 512)])
def test_random_vectors_with_63_bit_ids(n: int, dim: int) -> None:
    rng = np.random.default_rng(n * 1000 + dim)
    vectors = _unit(rng.standard_normal((n, dim)))
    ids = rng.choice(2**63 - 1, size=n, replace=False).astype(np.int64)
    assert ids.max() > 2**40 or n < 10  # really large ids, not row numbers
    store = VectorStore(vectors, ids)
    assert len(store) == n and store.dim == dim
    for q in _unit(rng.standard_normal((20, dim))):
        for k in (1, 5, 10, 100):
            _assert_top_k(store, q, k)
    # Exact ordering on random data (no ties): ids and scores equal the brute force.
    q = _unit(rng.standard_normal(dim))
    exact = vectors @ q
    order = np.argsort(-exact)[: min(10, n)]
    scores, got = store.search(q, 10)
    np.testing.assert_array_equal(got, ids[order])
    np.testing.assert_allclose(scores, exact[order], atol=1e-5)
    np.testing.assert_allclose(store.all_scores(q), exact, atol=1e-6)


def test_a_vector_finds_itself_first() -> None:
    rng = np.random.default_rng(7)
    vectors = _unit(rng.standard_normal((500, 32)))
    ids = rng.choice(2**63 - 1, size=500, replace=False).astype(np.int64)
    store = VectorStore(vectors, ids)
    for row in (0, 123, 499):
        scores, got = store.search(vectors[row], 3)
        assert got[0] == ids[row] and scores[0] == pytest.approx(1.0, abs=1e-5)
        assert store.row_of(int(ids[row])) == row


def test_k_larger_than_the_store_and_an_empty_store() -> None:
    rng = np.random.default_rng(3)
    vectors = _unit(rng.standard_normal((4, 8)))
    store = VectorStore(vectors, np.array([2**62 + 1, 5, 2**63 - 1, 0], dtype=np.int64))
    scores, ids = store.search(vectors[2], 10)
    assert len(ids) == 4 and ids[0] == 2**63 - 1 and -1 not in ids.tolist()
    assert sorted(ids.tolist()) == sorted([2**62 + 1, 5, 2**63 - 1, 0])
    empty = VectorStore(np.zeros((0, 8), dtype=np.float32), np.zeros(0, dtype=np.int64))
    assert len(empty) == 0
    assert empty.search(vectors[0], 5)[1].shape == (0,)
    assert empty.all_scores(vectors[0]).shape == (0,)


def test_vectors_and_ids_must_align() -> None:
    with pytest.raises(ValueError):
        VectorStore(np.zeros((3, 4), dtype=np.float32), np.arange(2, dtype=np.int64))


def test_real_chunk_vectors_of_the_sample_index(sample_index: Path) -> None:
    index = load_index(sample_index)
    store = index.chunk_vectors
    assert len(store) == len(index.chunks) > 1000
    # FAISS ids are the chunks' own stable ids, row-aligned with chunks.jsonl.
    assert store.ids.tolist() == [c.id for c in index.chunks]
    np.testing.assert_allclose(np.linalg.norm(store.vectors, axis=1), 1.0, atol=1e-4)
    rng = np.random.default_rng(11)
    rows = rng.choice(len(store), size=25, replace=False)
    mixes = _unit(store.vectors[rows[:10]] + store.vectors[rows[10:20]])
    for q in [*store.vectors[rows], *mixes, *_unit(rng.standard_normal((5, store.dim)))]:
        _assert_top_k(store, q, 10)
    faq = index.faq_vectors
    for q in faq.vectors[:20]:
        _assert_top_k(faq, q, 5)
