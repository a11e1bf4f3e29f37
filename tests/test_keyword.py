"""indexer.keyword.KeywordIndex against the reference implementation bm25s (Lucene variant) on
jieba tokens of real laws, and its plain-file persistence."""

from __future__ import annotations

import json
import math
from collections import Counter
from functools import cache
from pathlib import Path

import bm25s
import numpy as np
import pytest

from indexer import keyword
from indexer.chunking import chunk_document
from indexer.documents import load_document
from indexer.faq_files import load_faq_file
from indexer.keyword import KeywordIndex
from indexer.tokenize import tokenize
from tests.conftest import KNOWLEDGE

LAWS = ("政府采购法-2014", "预算法-2018", "会计法-2024", "税收征收管理法-2015", "社会保险法-2018")


@cache
def corpus() -> tuple[tuple[str, ...], ...]:
    """Token lists of every chunk of five real laws, plus one empty row."""
    rows: list[tuple[str, ...]] = []
    for law in LAWS:
        doc = load_document(KNOWLEDGE / "policies" / "laws" / f"{law}.md", KNOWLEDGE)
        rows += [tuple(tokenize(c.text)) for c in chunk_document(law, doc.text, doc.meta.kind)]
    rows.append(())  # a chunk with no searchable token at all
    return tuple(rows)


@cache
def queries() -> tuple[tuple[str, ...], ...]:
    """Real citizen questions: every question and variant of the sample FAQ files."""
    found: list[tuple[str, ...]] = []
    for path in sorted((KNOWLEDGE / "faq").glob("*.yaml")):
        entries, _ = load_faq_file(path, path.name)
        for entry in entries:
            found += [tuple(dict.fromkeys(tokenize(q))) for q in entry.questions]
    return tuple(q for q in found if q)


@cache
def reference() -> bm25s.BM25:
    retriever = bm25s.BM25(method="lucene", k1=1.5, b=0.75)
    retriever.index([list(row) for row in corpus()], show_progress=False)
    return retriever


def _reference_scores(tokens: tuple[str, ...]) -> np.ndarray:
    known = [t for t in tokens if t in reference().vocab_dict]
    if not known:
        return np.zeros(len(corpus()), dtype=np.float32)
    return np.asarray(reference().get_scores(known))


def test_corpus_is_real_and_large_enough() -> None:
    assert len(corpus()) > 400
    assert len(queries()) > 300
    assert sum(len(row) for row in corpus()) > 20_000


@pytest.fixture(params=["dense", "sparse"])
def layout(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of scoring: a dense copy of the weights (small indexes) and the CSR arrays."""
    monkeypatch.setattr(keyword, "DENSE_CELLS", 10**9 if request.param == "dense" else 0)
    return str(request.param)


def _build(layout: str) -> KeywordIndex:
    index = KeywordIndex.build(corpus())
    assert index.dense == (layout == "dense")
    return index


def test_scores_equal_bm25s_lucene(layout: str) -> None:
    index = _build(layout)
    assert index.rows == len(corpus())
    compared = 0
    for tokens in queries():
        ours = index.scores(tokens)
        theirs = _reference_scores(tokens)
        assert ours.shape == theirs.shape == (len(corpus()),)
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5, err_msg=" ".join(tokens))
        compared += int(theirs.max() > 0)
    assert compared > 300  # most questions do match something


def test_top_ranked_chunks_agree_with_bm25s() -> None:
    index = KeywordIndex.build(corpus())
    for tokens in queries()[:100]:
        ours, theirs = index.scores(tokens), _reference_scores(tokens)
        if theirs.max() <= 0:
            continue
        best = int(np.argmax(ours))
        assert theirs[best] == pytest.approx(theirs.max(), abs=1e-5)


def test_repeated_and_unknown_query_tokens(layout: str) -> None:
    index = _build(layout)
    tokens = tuple(tokenize("供应商 质疑 期限"))
    # Each distinct token counts once; tokens outside the vocabulary add nothing.
    np.testing.assert_array_equal(index.scores(tokens + tokens), index.scores(tokens))
    np.testing.assert_array_equal(index.scores((*tokens, "薛定谔的猫咪")), index.scores(tokens))
    assert not index.scores(("薛定谔的猫咪",)).any()
    assert not index.scores(()).any()
    assert index.scores(tokens)[-1] == 0  # the empty row never matches


def test_token_weights_scale_each_token(layout: str) -> None:
    index = _build(layout)
    tokens = ("政府采购", "质疑", "预算")
    weights = (2.0, 0.5, 0.0)
    expected = sum(w * _reference_scores((t,)) for t, w in zip(tokens, weights, strict=True))
    np.testing.assert_allclose(index.scores(tokens, weights), expected, rtol=1e-5, atol=1e-5)


def test_idf() -> None:
    index = KeywordIndex.build(corpus())
    n = len(corpus())
    df = Counter(t for row in corpus() for t in set(row))
    for token in ("政府采购", "质疑", "预算", "纳税人", "会计"):
        assert df[token] > 0
        expected = math.log(1 + (n - df[token] + 0.5) / (df[token] + 0.5))
        assert index.idf_of(token) == pytest.approx(expected, rel=1e-6)
    assert index.idf_of("薛定谔的猫咪") == pytest.approx(math.log(1 + (n + 0.5) / 0.5))
    assert index.idf_of("政府采购") < index.idf_of("质疑")  # rarer tokens weigh more


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    index = KeywordIndex.build(corpus())
    folder = tmp_path / "chunk_keywords"
    index.save(folder)
    assert sorted(p.name for p in folder.iterdir()) == [
        "data.npy",
        "idf.npy",
        "indices.npy",
        "indptr.npy",
        "params.json",
        "vocab.json",
    ]
    for npy in folder.glob("*.npy"):
        np.load(npy, allow_pickle=False)  # plain arrays, no pickled objects
    params = json.loads((folder / "params.json").read_text("utf-8"))
    assert params["k1"] == 1.5 and params["b"] == 0.75 and params["rows"] == len(corpus())

    loaded = KeywordIndex.load(folder)
    assert loaded.vocab == index.vocab
    assert loaded.rows == index.rows
    assert (loaded.k1, loaded.b, loaded.avgdl) == (index.k1, index.b, index.avgdl)
    for tokens in queries()[:200]:
        np.testing.assert_array_equal(loaded.scores(tokens), index.scores(tokens))
    np.testing.assert_array_equal(loaded.idf, index.idf)


def test_load_refuses_another_format_version(tmp_path: Path) -> None:
    KeywordIndex.build([["政府采购", "质疑"], ["预算"]]).save(tmp_path)
    params = json.loads((tmp_path / "params.json").read_text("utf-8"))
    (tmp_path / "params.json").write_text(json.dumps({**params, "format_version": 99}), "utf-8")
    with pytest.raises(ValueError, match="99"):
        KeywordIndex.load(tmp_path)


def test_empty_index(tmp_path: Path) -> None:
    index = KeywordIndex.build([])
    assert index.rows == 0
    assert index.scores(("政府采购",)).shape == (0,)
    index.save(tmp_path / "empty")
    assert KeywordIndex.load(tmp_path / "empty").rows == 0
