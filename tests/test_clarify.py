"""The ``clarify`` answer through /api/v1/ask on the shipped sample knowledge and tuning: when the
best FAQ entries are too close to tell apart, the citizen is asked which one is meant, and the
number or the text of an option, sent next in the same session, answers it. The pending options
are conversation state, so each test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from policyqa.render import render_answer
from service import replies
from service.answering import Answer, AnswerType
from service.app import create_app
from service.config import Settings
from service.db.engine import get_database
from service.db.migrate import upgrade
from tests.conftest import ask, ready_client
from tests.test_sample_faq import entries

# Each of these has FAQ entries within a relative margin of 0.02 of each other on the sample:
# "how do I pay" fits the filing, the rate and the taxpayer entries alike.
CLOSE = "印花税怎么交"
CLOSE_TOO = "房产税怎么交"


@pytest.fixture
def client(sample_index: Path, database_url: str) -> Iterator[TestClient]:
    upgrade(get_database(database_url))  # as an operator runs `policyqa db upgrade`
    with ready_client(create_app(Settings(index_dir=sample_index, database_url=database_url))) as c:
        yield c


def answer_of(question: str) -> str:
    """The curated answer of the sample FAQ entry whose standard question this is."""
    matches = [e for e in entries().values() if e.question == question]
    assert len(matches) == 1, question
    return matches[0].answer.strip()


def clarified(client: TestClient, question: str) -> dict[str, Any]:
    body = ask(client, question)
    assert body["type"] == "clarify", (body["type"], body["answer"][:80])
    assert 2 <= len(body["related"]) <= 3 and len(set(body["related"])) == len(body["related"])
    assert body["answer"].startswith("您想问的是以下哪一个？请回复序号")
    for n, option in enumerate(body["related"], 1):
        assert f"\n{n}. {option}" in body["answer"]
    assert not body["handoff"] and body["sources"] == []
    return body


def test_close_faq_entries_get_clarify_and_a_number_answers_that_option(
    client: TestClient,
) -> None:
    body = clarified(client, CLOSE)
    second = body["related"][1]
    reply = ask(client, "2", body["session_id"])
    assert reply["type"] == "faq" and reply["answer"].startswith(answer_of(second))
    assert reply["sources"] and reply["confidence"] == 1.0
    # Answered: the options are spent, a second "2" is an ordinary question again.
    again = ask(client, "2", body["session_id"])
    assert again["type"] != "faq" or not again["answer"].startswith(answer_of(second))


@pytest.mark.parametrize("reply", ["第1个", "１", "1。"])
def test_other_ways_of_typing_a_number(client: TestClient, reply: str) -> None:
    body = clarified(client, CLOSE_TOO)
    answer = ask(client, reply, body["session_id"])
    assert answer["type"] == "faq" and answer["answer"].startswith(answer_of(body["related"][0]))


def test_sending_an_options_text_answers_it(client: TestClient) -> None:
    body = clarified(client, CLOSE)
    last = body["related"][-1]
    reply = ask(client, last, body["session_id"])
    assert reply["type"] == "faq" and reply["answer"].startswith(answer_of(last))


@pytest.mark.parametrize("question", ["转人工", "我要投诉税务局乱收费", "我要举报偷税漏税"])
def test_a_person_or_a_complaint_never_gets_clarify(client: TestClient, question: str) -> None:
    assert ask(client, question)["type"] == "handoff"
    pending = clarified(client, CLOSE)
    after = ask(client, question, pending["session_id"])
    assert after["type"] == "handoff" and after["handoff"]


@pytest.mark.parametrize("number", [2, 3])
def test_a_number_after_an_answer_answers_its_related_question(
    client: TestClient, number: int
) -> None:
    # The related questions under an answer are numbered options too (WeChat lists them so).
    answered = ask(client, "供应商对中标结果有异议，怎么提出质疑？")
    assert answered["type"] == "faq" and len(answered["related"]) >= number
    after = ask(client, str(number), answered["session_id"])
    assert after["type"] == "faq" and after["confidence"] == 1.0
    assert after["answer"].startswith(answer_of(answered["related"][number - 1]))


@pytest.mark.parametrize("number", ["2", "3"])
def test_a_number_without_pending_options_is_an_ordinary_question(
    client: TestClient, number: str
) -> None:
    alone = ask(client, number)
    greeted = ask(client, "你好")
    assert greeted["type"] == "smalltalk" and greeted["related"] == []
    after = ask(client, number, greeted["session_id"])
    assert (after["type"], after["answer"]) == (alone["type"], alone["answer"])
    assert after["type"] != "clarify"


def test_a_number_beyond_the_options_is_an_ordinary_question(client: TestClient) -> None:
    body = clarified(client, CLOSE)
    alone = ask(client, "9")
    after = ask(client, "9", body["session_id"])
    assert (after["type"], after["answer"]) == (alone["type"], alone["answer"])


def test_the_cli_shows_a_clarification_numbered_once() -> None:
    options = ["个人所得税的起征点是多少？", "个人所得税的税率是多少？"]
    answer = Answer("a1", AnswerType.CLARIFY, replies.clarify(options), 0.9, related=options)
    text = render_answer(answer)
    assert text.startswith("【请确认】")
    assert "\n1. 个人所得税的起征点是多少？\n2. 个人所得税的税率是多少？" in text
    assert "相关问题" not in text


def test_the_openapi_document_describes_clarify(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()["components"]["schemas"]["AskResponse"]
    assert "clarify" in schema["properties"]["type"]["enum"]
    assert "序号" in schema["properties"]["type"]["description"]
