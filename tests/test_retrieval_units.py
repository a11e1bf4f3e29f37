"""Unit tests of the FAQ matcher and the passage retriever on the shipped sample index, with the
encoder that built it: rankings, confidences on either side of the threshold, edge cases."""

from __future__ import annotations

from pathlib import Path

import pytest

from indexer.encoders import make_encoder, spec_of
from indexer.store import load_index
from service.faq_match import FaqMatcher
from service.passages import PassageRetriever
from service.query import QueryRep, prepare
from service.query_encoder import QueryEncoder
from service.tuning import DEFAULT_TUNING

Parts = tuple[FaqMatcher, PassageRetriever, QueryEncoder]


@pytest.fixture(scope="module")
def parts(sample_index: Path) -> Parts:
    index = load_index(sample_index)
    encoder = make_encoder(spec_of(index.encoder_identity, None))
    return (
        FaqMatcher(index, DEFAULT_TUNING),
        PassageRetriever(index, DEFAULT_TUNING),
        QueryEncoder(encoder),
    )


def query(parts: Parts, text: str) -> QueryRep:
    return prepare(text, parts[2])


def test_faq_paraphrase_ranks_its_entry_first_with_confidence(parts: Parts) -> None:
    faq = parts[0].match(query(parts, "个人所得税的起征点现在是多少钱"))
    assert faq.confidence >= 0.5
    assert any(s.doc_id == "个人所得税法-2018" for s in faq.hits[0].entry.sources)
    assert [h.score for h in faq.hits] == sorted((h.score for h in faq.hits), reverse=True)
    assert len(faq.hits) == 10 and len({h.entry.id for h in faq.hits}) == 10


def test_faq_out_of_scope_is_below_the_threshold(parts: Parts) -> None:
    faq = parts[0].match(query(parts, "周杰伦的新歌叫什么名字"))
    assert faq.confidence < 0.5 and faq.hits  # still ranked: the closest become suggestions


def test_faq_limit(parts: Parts) -> None:
    assert len(parts[0].match(query(parts, "政府采购质疑"), limit=3).hits) == 3


def test_passage_retrieval_finds_the_article(parts: Parts) -> None:
    result = parts[1].search(query(parts, "国库券的发行对象有哪些"))
    top = result.hits[0]
    assert top.chunk.doc_id == "国库券条例-2011" and top.chunk.section.endswith("第二条")
    assert result.confidence >= 0.5
    scores = [h.score for h in result.hits]
    assert scores == sorted(scores, reverse=True) and len(result.hits) <= 10


def test_passage_retrieval_declines_out_of_scope(parts: Parts) -> None:
    assert parts[1].search(query(parts, "周杰伦的新歌叫什么名字")).confidence < 0.5


def test_outdated_documents_rank_below_current_ones(parts: Parts) -> None:
    result = parts[1].search(query(parts, "会计法对单位内部会计监督制度有什么要求"))
    docs = [h.chunk.doc_id for h in result.hits]
    assert "会计法-2024" in docs
    if "会计法-2017" in docs:
        assert docs.index("会计法-2024") < docs.index("会计法-2017")


def test_best_in_document(parts: Parts) -> None:
    retriever = parts[1]
    chunk = retriever.best_in_document(query(parts, "国库券的发行对象"), "国库券条例-2011")
    assert chunk is not None and chunk.doc_id == "国库券条例-2011" and "发行" in chunk.text
    assert retriever.best_in_document(query(parts, "国库券"), "no-such-document") is None
