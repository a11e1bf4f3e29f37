"""The rows a citizen's message reads and writes (its conversation, the message, the answer), as
prepared SQL expressions on a plain connection.

``/api/v1/ask`` runs these on every question. Through the ORM (a ``Session`` per transaction, the
unit of work at every flush, each statement built afresh) they cost the server ~5 ms of CPU per
question, several times the answering itself (docs/benchmarks.md, 2026-11-29); as statements
built once, with their parameters bound per call, they cost well under 1 ms.
``service/db/models.py`` owns the tables; ``service/conversations.py`` decides what is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, DateTime, bindparam, insert, select, update

from service.db.models import AnswerRecord, Conversation, Message, Ticket, utcnow

ACTIVE = ("open", "claimed")  # ticket states in which the bot stays silent


@dataclass(frozen=True)
class ConversationRow:
    id: str
    channel_key: str | None
    last_seen_at: datetime
    context: dict[str, Any] | None
    context_at: datetime | None


_COLUMNS = (
    Conversation.id,
    Conversation.channel_key,
    Conversation.last_seen_at,
    Conversation.context,
    Conversation.context_at,
)
_BY_ID = select(*_COLUMNS).where(Conversation.id == bindparam("id"))
_BY_KEY = select(*_COLUMNS).where(
    Conversation.channel == bindparam("channel"), Conversation.channel_key == bindparam("key")
)
_ACTIVE_TICKET = (
    select(Ticket.id)
    .where(Ticket.conversation_id == bindparam("conversation_id"), Ticket.status.in_(ACTIVE))
    .order_by(Ticket.created_at)
    .limit(1)
)
_INSERT_CONVERSATION = insert(Conversation)
_SEEN = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation_id"))
    .values(last_seen_at=bindparam("now", type_=DateTime()))
)
_REMEMBER = (
    update(Conversation)
    .where(Conversation.id == bindparam("conversation_id"))
    .values(
        context=bindparam("context", type_=JSON()), context_at=bindparam("at", type_=DateTime())
    )
)
_INSERT_MESSAGE = insert(Message)
_INSERT_ANSWER = insert(AnswerRecord)


def _row(found: Any) -> ConversationRow | None:
    return None if found is None else ConversationRow(*found)


def by_id(db: Connection, conversation_id: str) -> ConversationRow | None:
    return _row(db.execute(_BY_ID, {"id": conversation_id}).first())


def by_key(db: Connection, channel: str, key: str) -> ConversationRow | None:
    return _row(db.execute(_BY_KEY, {"channel": channel, "key": key}).first())


def active_ticket_id(db: Connection, conversation_id: str) -> str | None:
    found = db.execute(_ACTIVE_TICKET, {"conversation_id": conversation_id}).scalar()
    return None if found is None else str(found)


def open_conversation(
    db: Connection, *, conversation_id: str, channel: str, key: str | None, now: datetime
) -> ConversationRow:
    db.execute(
        _INSERT_CONVERSATION,
        {
            "id": conversation_id,
            "channel": channel,
            "channel_key": key,
            "created_at": now,
            "last_seen_at": now,
        },
    )
    return ConversationRow(conversation_id, key, now, None, None)


def seen(db: Connection, conversation_id: str, now: datetime) -> None:
    db.execute(_SEEN, {"conversation_id": conversation_id, "now": now})


def remember(db: Connection, conversation_id: str, context: dict[str, Any]) -> None:
    """The follow-up context (service/sessions.py's format) on the conversation's row."""
    db.execute(_REMEMBER, {"conversation_id": conversation_id, "context": context, "at": utcnow()})


def add_message(
    db: Connection,
    *,
    conversation_id: str,
    role: str,
    text: str,
    ticket_id: str | None = None,
    answer: dict[str, Any] | None = None,
    created_at: datetime | None = None,
) -> int:
    """The new message's id."""
    values: dict[str, Any] = {
        "conversation_id": conversation_id,
        "ticket_id": ticket_id,
        "role": role,
        "text": text,
        "created_at": created_at or utcnow(),
    }
    if answer is not None:  # else SQL NULL, as the ORM leaves it (not a JSON ``null``)
        values["answer"] = answer
    result = db.execute(_INSERT_MESSAGE, values)
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def add_answer(
    db: Connection,
    *,
    conversation_id: str,
    channel: str,
    question: str,
    payload: dict[str, Any],
    latency_ms: float,
) -> None:
    db.execute(
        _INSERT_ANSWER,
        {
            "id": payload["answer_id"],
            "conversation_id": conversation_id,
            "channel": channel,
            "question": question,
            "type": payload["type"],
            "confidence": payload["confidence"],
            "sources": payload["sources"],
            "latency_ms": round(latency_ms, 2),
            "created_at": utcnow(),
        },
    )
