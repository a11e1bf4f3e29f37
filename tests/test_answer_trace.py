"""What leaves the answering core: the production ``Answer`` carries only what a citizen is shown
(the /api/v1/ask body); the evaluation's rankings and signals come from ``Answerer.ask_traced`` as
a separate ``Trace``, next to the very same answer. The channel is recorded with the answer."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.answering import Answer, Answerer, AnswerType
from service.app import create_app
from service.clarify_model import FAQ_FEATURES, PASSAGE_FEATURES
from service.config import Settings
from service.db.engine import get_database
from service.db.models import AnswerRecord, Conversation
from service.engine import load_answerer
from service.schemas import AskResponse

SHOWN = {"answer_id", "type", "answer", "confidence", "sources", "related", "handoff"}
TRACE_FIELDS = {"question", "faq_ranking", "passage_ranking", "faq_signals", "passage_signals"}

FAQ_QUESTION = "我是供应商，对政府采购的中标结果有异议，该怎么办？"
PASSAGE_QUESTION = "国库券的发行对象有哪些？"
OUT_OF_SCOPE = "周杰伦的新歌叫什么名字"


@pytest.fixture(scope="module")
def answerer(sample_index: Path) -> Answerer:
    return load_answerer(sample_index)


def _shown(answer: Answer) -> dict[str, object]:
    """Everything a citizen is shown except the answer id (new for every answer)."""
    return {k: v for k, v in dataclasses.asdict(answer).items() if k != "answer_id"}


def test_the_answer_holds_only_what_a_citizen_is_shown(answerer: Answerer) -> None:
    assert {f.name for f in dataclasses.fields(Answer)} == SHOWN
    assert set(AskResponse.model_fields) == SHOWN | {"session_id"}
    with pytest.raises(TypeError):
        answerer.ask(FAQ_QUESTION, rank_all=True)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        (FAQ_QUESTION, AnswerType.FAQ),
        (PASSAGE_QUESTION, AnswerType.PASSAGE),
        (OUT_OF_SCOPE, AnswerType.NONE),
    ],
)
def test_ask_traced_gives_the_same_answer_and_both_rankings(
    answerer: Answerer, question: str, kind: AnswerType
) -> None:
    answer = answerer.ask(question)
    traced, trace = answerer.ask_traced(question)
    assert answer.type == traced.type == kind
    assert _shown(traced) == _shown(answer)
    # Both rankers ran, whatever the FAQ's confidence: full rankings, best first.
    assert len(trace.faq_ranking) == 10 and len(set(trace.faq_ranking)) == 10
    assert 0 < len(trace.passage_ranking) <= 10
    assert all(doc_id and text for doc_id, text in trace.passage_ranking)
    # The clarify models' signals (service/clarify_model.py), with the confidence.
    assert set(trace.faq_signals) == {"confidence", *FAQ_FEATURES}
    assert set(trace.passage_signals) == {"confidence", *PASSAGE_FEATURES}
    # The relative margins to the runner-up.
    assert 0 <= trace.faq_signals["margin"] <= 1 and 0 <= trace.passage_signals["margin"] <= 1
    if kind == AnswerType.FAQ:
        assert trace.faq_signals["confidence"] == answer.confidence >= 0.5
    elif kind == AnswerType.PASSAGE:
        assert trace.faq_signals["confidence"] < 0.5
        assert trace.passage_signals["confidence"] == answer.confidence >= 0.5
        assert trace.passage_ranking[0][0] == answer.sources[0].doc_id == "国库券条例-2011"
    else:
        assert max(trace.faq_signals["confidence"], trace.passage_signals["confidence"]) < 0.5
    with pytest.raises(dataclasses.FrozenInstanceError):
        trace.faq_ranking = ()  # type: ignore[misc]


def test_trace_of_a_hand_over_small_talk_and_a_follow_up(answerer: Answerer) -> None:
    for question, kind in (("转人工", AnswerType.HANDOFF), ("你好", AnswerType.SMALLTALK)):
        answer, trace = answerer.ask_traced(question)
        assert answer.type == kind
        assert (trace.question, trace.faq_ranking, trace.passage_ranking) == (question, (), ())
    answerer.ask_traced(PASSAGE_QUESTION, session_id="trace-follow-up")
    answer, trace = answerer.ask_traced("那怎么缴费？", session_id="trace-follow-up")
    assert trace.question.startswith("国库券的发行对象有哪些") and trace.question.endswith(
        "那怎么缴费"
    )
    assert "国库券" in answer.answer


@pytest.fixture(scope="module")
def state_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('trace-state') / 'state.sqlite'}"


@pytest.fixture(scope="module")
def client(sample_index: Path, state_url: str) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(index_dir=sample_index, database_url=state_url))) as c:
        deadline = time.monotonic() + 120
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, c.get("/readyz").json()
            time.sleep(0.2)
        yield c


def test_ask_json_has_no_trace_fields_and_records_the_channel(
    client: TestClient, state_url: str
) -> None:
    bodies = [
        client.post("/api/v1/ask", json={"question": FAQ_QUESTION}).json(),
        client.post(
            "/api/v1/ask", json={"question": PASSAGE_QUESTION, "channel": "miniprogram"}
        ).json(),
        client.post("/api/v1/ask", json={"question": OUT_OF_SCOPE}).json(),
    ]
    assert [b["type"] for b in bodies] == ["faq", "passage", "none"]
    for body in bodies:
        assert set(body) == SHOWN | {"session_id"}
        assert not TRACE_FIELDS & set(body)
    with get_database(state_url).session() as db:
        recorded = {
            answer_id: (channel, conversation_channel)
            for answer_id, channel, conversation_channel in db.execute(
                select(AnswerRecord.id, AnswerRecord.channel, Conversation.channel).join(
                    Conversation, Conversation.id == AnswerRecord.conversation_id
                )
            )
        }
    assert [recorded[b["answer_id"]] for b in bodies] == [
        ("web", "web"),  # no channel given: the web widget's
        ("miniprogram", "miniprogram"),
        ("web", "web"),
    ]
