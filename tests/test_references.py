"""A question that names a document and an article has said which one it means: it is answered
from that article, never asked back (service/references.py, service/answering.py)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from indexer.models import Disclosure, DocumentMeta
from service.answering import Answerer, AnswerType
from service.engine import load_answerer
from service.references import ReferenceFinder, article_number
from service.tuning import DEFAULT_TUNING


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("第四条", 4),
        ("第十条", 10),
        ("第二十一条", 21),
        ("第一百零三条", 103),
        ("第4条", 4),
        ("印花税法第十二条怎么规定", 12),
        ("印花税怎么交", None),
    ],
)
def test_article_numbers(text: str, number: int | None) -> None:
    assert article_number(text) == number


def _meta(doc_id: str, title: str, doc_no: str | None = None) -> DocumentMeta:
    return DocumentMeta(doc_id, title, Disclosure.PUBLIC, doc_no=doc_no)


FINDER = ReferenceFinder(
    [
        _meta("pit", "中华人民共和国个人所得税法"),
        _meta("pit-rules", "中华人民共和国个人所得税法实施条例"),
        _meta("notice", "关于做好政务公开工作的通知", "泰财办〔2021〕2号"),
        _meta("short", "通知"),
    ]
)


def test_a_title_with_or_without_its_prefix_and_a_doc_no_name_a_document() -> None:
    found = FINDER.find("个人所得税法第六条是什么意思")
    assert found is not None and (found.doc_ids, found.article) == ({"pit"}, 6)
    # The longest name wins: the regulation, not the law its title contains.
    found = FINDER.find("《中华人民共和国个人所得税法实施条例》第十四条")
    assert found is not None and found.doc_ids == {"pit-rules"}
    found = FINDER.find("泰财办〔2021〕2号第三条说了什么")
    assert found is not None and (found.doc_ids, found.article) == ({"notice"}, 3)


def test_no_reference_without_both_a_document_and_an_article() -> None:
    assert FINDER.find("个人所得税法怎么规定的") is None
    assert FINDER.find("第三条怎么规定的") is None
    assert FINDER.find("通知第三条") is None  # a title too short to name anything


def test_points_at_compares_the_article_number() -> None:
    found = FINDER.find("个税法第4条")  # not a name of any document
    assert found is None
    found = FINDER.find("个人所得税法第四条")
    assert found is not None
    assert FINDER.points_at(found, "pit", "第二章 › 第四条")
    assert FINDER.points_at(found, "pit", "第四条")
    assert not FINDER.points_at(found, "pit", "第十四条")
    assert not FINDER.points_at(found, "pit-rules", "第四条")
    assert not FINDER.points_at(found, "pit", None)


@pytest.fixture(scope="module")
def always_asking(sample_index: Path) -> Answerer:
    """The sample knowledge with models that ask back whenever they can."""
    answerer = load_answerer(sample_index)
    tuning = dataclasses.replace(
        DEFAULT_TUNING,
        faq_clarify=dataclasses.replace(DEFAULT_TUNING.faq_clarify, threshold=1.01),
        passage_clarify=dataclasses.replace(DEFAULT_TUNING.passage_clarify, threshold=1.01),
    )
    return Answerer(answerer.index, answerer.encoder, tuning=tuning)


def test_asking_back_is_what_the_models_would_do_without_a_reference(
    always_asking: Answerer,
) -> None:
    assert always_asking.ask("印花税的税率是多少").type == AnswerType.CLARIFY


@pytest.mark.parametrize(
    ("question", "doc_id", "article"),
    [
        ("印花税法第四条怎么规定的", "印花税法-2021", "第四条"),
        ("国库券条例第五条是怎么规定的", "国库券条例-2011", "第五条"),
    ],
)
def test_a_named_article_is_answered_without_asking_back(
    always_asking: Answerer, question: str, doc_id: str, article: str
) -> None:
    answer = always_asking.ask(question)
    assert answer.type in (AnswerType.FAQ, AnswerType.PASSAGE), answer
    assert answer.sources[0].doc_id == doc_id, answer.sources
    if answer.type == AnswerType.PASSAGE:
        assert article in (answer.sources[0].section or ""), answer.sources[0]
