"""What one ``/api/v1/ask`` writes, and in how many transactions (service/conversations.py with
service/conversation_rows.py), on SQLite and PostgreSQL: the citizen's message, then the answer
with the follow-up context, each visible as soon as the response is back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import Connection

from service.answering import Answerer
from service.db.engine import get_database
from service.db.models import AnswerRecord, Conversation, Message
from service.engine import load_answerer
from tests.desk_helpers import desk_app


@pytest.fixture(scope="module")
def answerer(sample_index: Path) -> Answerer:
    return load_answerer(sample_index)


def test_a_question_is_two_transactions_with_its_context(
    answerer: Answerer, sample_index: Path, database_url: str
) -> None:
    database = get_database(database_url)
    # No background polls of the database (the knowledge refresh): only the requests' own work.
    quiet = {"knowledge_poll_seconds": 3600, "reload_seconds": 3600}
    with desk_app(answerer, sample_index, database_url, **quiet) as client:
        first = client.post(
            "/api/v1/ask", json={"question": "供应商对中标结果有异议，怎么提出质疑？"}
        )
        assert first.status_code == 200, first.text
        session_id = first.json()["session_id"]
        with database.session() as db:  # the context is on the row when the response is back
            context = db.scalar(select(Conversation.context).where(Conversation.id == session_id))
        assert context is not None and "质疑" in context["question"]

        begun: list[int] = []

        def count(_connection: Connection) -> None:
            begun.append(1)

        event.listen(database.engine, "begin", count)
        try:
            follow_up = client.post(
                "/api/v1/ask", json={"question": "那需要什么材料？", "session_id": session_id}
            )
        finally:
            event.remove(database.engine, "begin", count)
        assert follow_up.status_code == 200, follow_up.text
        body: dict[str, Any] = follow_up.json()
        assert body["session_id"] == session_id
        assert len(begun) == 2  # the message (and the context read), the answer (and context)

        alone = client.post("/api/v1/ask", json={"question": "那需要什么材料？"}).json()
        assert body["sources"] != alone["sources"]  # the follow-up was answered in context

        with database.session() as db:
            messages = db.execute(
                select(Message.role, Message.text)
                .where(Message.conversation_id == session_id)
                .order_by(Message.id)
            ).all()
            record = db.get(AnswerRecord, body["answer_id"])
            context = db.scalar(select(Conversation.context).where(Conversation.id == session_id))
            # a citizen's message has no answer: SQL NULL, as the ORM stored it (not JSON null)
            nulls = db.scalar(
                text(
                    "SELECT count(*) FROM messages WHERE conversation_id = :c"
                    " AND role = 'citizen' AND answer IS NULL"
                ),
                {"c": session_id},
            )
        assert [role for role, _ in messages] == ["citizen", "bot", "citizen", "bot"]
        assert messages[2].text == "那需要什么材料？" and messages[3].text == body["answer"]
        assert record is not None and record.question == "那需要什么材料？"
        assert record.type == body["type"] and record.channel == "web"
        assert (
            context is not None and "材料" in context["question"] and "质疑" in context["question"]
        )
        assert nulls == 2
