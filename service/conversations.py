"""Conversations: the one path from a citizen's message to a recorded answer, for the HTTP API
(``/api/v1/ask``) and for channels that address a conversation by their own key (WeChat's
OpenID), as ``app.state.conversations``.

A session id is a capability: the server issues it (``secrets.token_urlsafe``); an id it never
issued, or one that expired, is never someone's conversation, the message starts a new one.
Personal numbers are masked (``service.pii``) before anything is stored. While a ticket is open
the bot stays silent: the message joins the ticket and the citizen is told when a person answers.
"""

from __future__ import annotations

import logging
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from indexer.textnorm import normalize
from service import conversation_rows as rows
from service.answering import Answer, Answerer, AnswerType
from service.conversation_rows import ACTIVE
from service.db.engine import Database
from service.db.group_commit import GroupCommit
from service.db.models import (
    AnswerRecord,
    Conversation,
    Feedback,
    Message,
    Ticket,
    iso,
    utcnow,
)
from service.events import Notifier
from service.intents import Intent, classify
from service.office_hours import OfficeHours
from service.pii import mask
from service.problems import NotFound
from service.schemas import AskResponse
from service.sessions import CarriedContext, Turn, carried_context, stored_context

log = logging.getLogger("policyqa.conversations")

WEB = "web"


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "role": message.role,
        "text": message.text,
        "created_at": iso(message.created_at),
        "answer": message.answer,
    }


def answer_payload(answer: Answer, session_id: str) -> dict[str, Any]:
    """The AskResponse body (the one mapping: ``AskResponse.from_answer``)."""
    return AskResponse.from_answer(answer, session_id=session_id).model_dump()


@dataclass(frozen=True)
class _Opened:
    conversation_id: str
    silent_payload: dict[str, Any] | None  # set when a ticket is open: the reply, no answering
    message_ids: list[int]
    # The follow-up context stored on the conversation's row (service/sessions.py).
    context: dict[str, Any] | None = None
    context_at: datetime | None = None


def active_ticket(db: Session, conversation_id: str) -> Ticket | None:
    return db.scalars(
        select(Ticket)
        .where(Ticket.conversation_id == conversation_id, Ticket.status.in_(ACTIVE))
        .order_by(Ticket.created_at)
        .limit(1)
    ).first()


class Conversations:
    def __init__(
        self,
        *,
        database: Database,
        answerer: Callable[[], Answerer],
        notifier: Notifier,
        office_hours: OfficeHours,
        session_ttl_seconds: float,
        retention_days: int,
    ) -> None:
        self.database, self._answerer, self.notifier = database, answerer, notifier
        self.office_hours = office_hours
        self.session_ttl = timedelta(seconds=session_ttl_seconds)
        self.retention = timedelta(days=retention_days)
        # Why conversations cannot be recorded right now (the database failed); for /readyz.
        self.problem: str | None = None
        # A question's two writes, committed with those of the questions asked at the same time.
        self.writes = GroupCommit(database)

    # ---- asking ----------------------------------------------------------------------------

    async def ask(self, *, question: str, channel: str, session_key: str) -> dict[str, Any]:
        """A channel's question, its conversation addressed by the channel's own key."""
        return await anyio.to_thread.run_sync(
            lambda: self.ask_now(question=question, channel=channel, session_key=session_key)
        )

    async def ask_session(
        self, *, question: str, session_id: str | None, channel: str | None
    ) -> dict[str, Any]:
        """``/api/v1/ask``: the conversation addressed by a server-issued session id."""
        return await anyio.to_thread.run_sync(
            lambda: self.ask_now(question=question, channel=channel or WEB, session_id=session_id)
        )

    def ask_now(
        self,
        *,
        question: str,
        channel: str,
        session_id: str | None = None,
        session_key: str | None = None,
    ) -> dict[str, Any]:
        """The recorded answer; when the database fails (a full disk, a lost connection) the
        citizen is still answered, without context and unrecorded, and /readyz says why."""
        try:
            payload = self._ask_recorded(
                question=question, channel=channel, session_id=session_id, session_key=session_key
            )
        except SQLAlchemyError as exc:
            problem = f"会话记录不可用：{type(exc).__name__}: {str(exc).splitlines()[0]}"[:300]
            if self.problem is None:
                log.error("%s; questions are answered without recording or context", problem)
            self.problem = problem
            answer = self._answerer().ask(mask(question))
            return answer_payload(answer, new_session_id())
        if self.problem is not None:
            log.warning("conversations are recorded again")
            self.problem = None
        return payload

    def _ask_recorded(
        self,
        *,
        question: str,
        channel: str,
        session_id: str | None,
        session_key: str | None,
    ) -> dict[str, Any]:
        """Two transactions a question: the citizen's message (with the conversation's context
        read for the answerer), then the answer (with the context it leaves for a follow-up)."""
        answerer = self._answerer()  # raises Unavailable before anything is stored
        text = mask(question)
        opened = self._receive(text, channel, session_id=session_id, session_key=session_key)
        for message_id in opened.message_ids:
            self.notifier.publish(opened.conversation_id, message_id)
        if opened.silent_payload is not None:
            return opened.silent_payload
        carried = CarriedContext(
            self.database, opened.conversation_id, opened.context, opened.context_at
        )
        started = time.perf_counter()
        with carried_context(carried):
            answer = answerer.ask(text, session_id=opened.conversation_id)
        latency_ms = (time.perf_counter() - started) * 1000
        if answer.type == AnswerType.HANDOFF:
            payload, message_id = self._record_handoff(
                opened.conversation_id, channel, text, answer, latency_ms, carried.remembered
            )
        else:
            payload = answer_payload(answer, opened.conversation_id)
            message_id = self.writes.run(
                lambda db: self._record_answer(
                    db,
                    opened.conversation_id,
                    channel,
                    text,
                    payload,
                    latency_ms,
                    remembered=carried.remembered,
                )
            )
        self.notifier.publish(opened.conversation_id, message_id)
        return payload

    def _record_handoff(
        self,
        conversation_id: str,
        channel: str,
        text: str,
        answer: Answer,
        latency_ms: float,
        remembered: Turn | None,
    ) -> tuple[dict[str, Any], int]:
        """The answer that hands the conversation over, with its ticket (unless one is open):
        the conversation's row is locked so that two such messages open one ticket."""
        with self.database.session() as db:
            conversation = db.get(Conversation, conversation_id, with_for_update=True)
            assert conversation is not None
            if active_ticket(db, conversation.id) is None:
                complaint = classify(normalize(text)) == Intent.COMPLAINT
                reason = "complaint" if complaint else "human"
                db.add(self._new_ticket(conversation, reason=reason))
                db.flush()
            # The fixed reply says "已为您转接人工服务…"; the notice says it with the when.
            lead = answer.answer.split("已为您转接人工服务", 1)[0]
            answer.answer = f"{lead}{self.notice()}"
            payload = answer_payload(answer, conversation_id)
            message_id = self._record_answer(
                db.connection(),
                conversation_id,
                channel,
                text,
                payload,
                latency_ms,
                remembered=remembered,
            )
        return payload, message_id

    def notice(self) -> str:
        return self.office_hours.notice(datetime.now(UTC))

    def _receive(
        self, text: str, channel: str, *, session_id: str | None, session_key: str | None
    ) -> _Opened:
        """Finds or starts the conversation and stores the citizen's message; when a ticket is
        open, also the silent reply (all in one transaction)."""
        return self.writes.run(
            lambda db: self._received(
                db, text, channel, session_id=session_id, session_key=session_key
            )
        )

    def _received(
        self,
        db: Connection,
        text: str,
        channel: str,
        *,
        session_id: str | None,
        session_key: str | None,
    ) -> _Opened:
        now = utcnow()
        conversation = self._find(db, channel, session_id=session_id, session_key=session_key)
        ticket_id: str | None = None
        if conversation is None:
            conversation = rows.open_conversation(
                db, conversation_id=new_session_id(), channel=channel, key=session_key, now=now
            )
        else:
            rows.seen(db, conversation.id, now)
            ticket_id = rows.active_ticket_id(db, conversation.id)
        citizen = rows.add_message(
            db,
            conversation_id=conversation.id,
            ticket_id=ticket_id,
            role="citizen",
            text=text,
            created_at=now,
        )
        if ticket_id is None:
            return _Opened(
                conversation.id, None, [citizen], conversation.context, conversation.context_at
            )
        payload = {
            "answer_id": uuid.uuid4().hex,
            "type": AnswerType.HANDOFF.value,
            "answer": "您的留言已转给工作人员。"
            + self.notice().removeprefix("已为您转接人工服务。"),
            "confidence": 1.0,
            "sources": [],
            "related": [],
            "handoff": True,
            "session_id": conversation.id,
        }
        bot = self._record_answer(db, conversation.id, channel, text, payload, 0.0, ticket_id)
        return _Opened(conversation.id, payload, [citizen, bot])

    def _find(
        self, db: Connection, channel: str, *, session_id: str | None, session_key: str | None
    ) -> rows.ConversationRow | None:
        if session_key is not None:
            return rows.by_key(db, channel, session_key)
        if not session_id:
            return None
        conversation = rows.by_id(db, session_id)
        if conversation is None or conversation.channel_key is not None:
            return None  # never issued (or a channel's conversation: not addressable by id)
        if utcnow() - conversation.last_seen_at > self.session_ttl and (
            rows.active_ticket_id(db, conversation.id) is None
        ):
            return None  # expired: the message starts a new conversation
        return conversation

    def _record_answer(
        self,
        db: Connection,
        conversation_id: str,
        channel: str,
        question: str,
        payload: dict[str, Any],
        latency_ms: float,
        ticket_id: str | None = None,
        *,
        remembered: Turn | None = None,
    ) -> int:
        """The answer (``answers``, for analytics and the printable page), the bot's message
        carrying it (its id is returned) and the context it leaves for a follow-up."""
        if remembered is not None:
            rows.remember(db, conversation_id, stored_context(remembered))
        rows.add_answer(
            db,
            conversation_id=conversation_id,
            channel=channel,
            question=question,
            payload=payload,
            latency_ms=latency_ms,
        )
        return rows.add_message(
            db,
            conversation_id=conversation_id,
            ticket_id=ticket_id,
            role="bot",
            text=payload["answer"],
            answer=payload,
        )

    def _new_ticket(self, conversation: Conversation, *, reason: str) -> Ticket:
        return Ticket(
            id=uuid.uuid4().hex,
            conversation_id=conversation.id,
            channel=conversation.channel,
            status="open",
            reason=reason,
            created_at=utcnow(),
        )

    # ---- handoff on request ----------------------------------------------------------------

    async def request_handoff(self, *, channel: str, session_key: str) -> dict[str, Any]:
        """A channel's citizen accepted the offer of a person: opens a ticket."""
        return await anyio.to_thread.run_sync(
            lambda: self.handoff_now(channel=channel, session_key=session_key)
        )

    async def handoff(self, *, session_id: str) -> dict[str, Any]:
        return await anyio.to_thread.run_sync(lambda: self.handoff_now(session_id=session_id))

    def handoff_now(
        self,
        *,
        session_id: str | None = None,
        channel: str | None = None,
        session_key: str | None = None,
    ) -> dict[str, Any]:
        notice = self.notice()
        with self.database.session() as db:
            if session_key is not None:
                conversation = db.scalars(
                    select(Conversation)
                    .where(Conversation.channel == channel, Conversation.channel_key == session_key)
                    .with_for_update()
                ).first()
                if conversation is None:  # a channel may hand over before any question
                    conversation = Conversation(
                        id=new_session_id(), channel=channel or WEB, channel_key=session_key
                    )
                    db.add(conversation)
                    db.flush()
            else:
                conversation = db.get(Conversation, session_id or "", with_for_update=True)
                if conversation is None or conversation.channel_key is not None:
                    raise NotFound("会话不存在或已过期，请重新提问后再转人工")
            ticket = active_ticket(db, conversation.id)
            if ticket is None:
                ticket = self._new_ticket(conversation, reason="request")
                db.add(ticket)
                db.flush()
                message = Message(
                    conversation_id=conversation.id,
                    ticket_id=ticket.id,
                    role="system",
                    text=notice,
                )
                db.add(message)
                db.flush()
                conversation.last_seen_at = utcnow()
                published = [message.id]
            else:
                published = []
            result = {"ticket_id": ticket.id, "status": ticket.status, "message": notice}
            conversation_id = conversation.id
        for message_id in published:
            self.notifier.publish(conversation_id, message_id)
        if result["status"] != "open":  # claimed: a person is already on it
            result["status"] = "open"
        return result

    # ---- reading -----------------------------------------------------------------------------

    async def get_answer(self, *, answer_id: str) -> dict[str, Any] | None:
        """One recorded answer (the AskResponse body, with the masked ``question`` and
        ``created_at``) for the printable page ``/answers/{answer_id}``; the answer id is a long
        random capability. None when unknown or purged."""
        return await anyio.to_thread.run_sync(lambda: self._get_answer(answer_id))

    def _get_answer(self, answer_id: str) -> dict[str, Any] | None:
        with self.database.session() as db:
            record = db.get(AnswerRecord, answer_id)
            if record is None:
                return None
            candidates = db.scalars(
                select(Message)
                .where(Message.conversation_id == record.conversation_id, Message.role == "bot")
                .order_by(Message.id.desc())
                .limit(200)
            )
            for message in candidates:
                if message.answer and message.answer.get("answer_id") == answer_id:
                    return {
                        **message.answer,
                        "question": record.question,
                        "created_at": iso(record.created_at),
                    }
        return None

    def exists(self, session_id: str) -> bool:
        with self.database.session() as db:
            conversation = db.get(Conversation, session_id)
            return conversation is not None and conversation.channel_key is None

    def messages(
        self, *, session_id: str, after: int = 0, limit: int = 200
    ) -> list[dict[str, Any]]:
        with self.database.session() as db:
            conversation = db.get(Conversation, session_id)
            if conversation is None or conversation.channel_key is not None:
                raise NotFound("会话不存在或已过期")
            rows = db.scalars(
                select(Message)
                .where(Message.conversation_id == session_id, Message.id > after)
                .order_by(Message.id)
                .limit(limit)
            ).all()
            return [message_json(m) for m in rows]

    # ---- feedback and retention --------------------------------------------------------------

    def feedback(self, *, answer_id: str, helpful: bool, comment: str | None) -> None:
        with self.database.session() as db:
            if db.get(AnswerRecord, answer_id) is None:
                raise NotFound("找不到这条回答（answer_id 无效或记录已过期），无法评价")
            db.add(
                Feedback(
                    answer_id=answer_id,
                    helpful=helpful,
                    comment=mask(comment) if comment else None,
                )
            )

    def purge(self, *, now: datetime | None = None) -> int:
        """Deletes conversations not seen for the retention period (with their messages,
        answers, feedback and closed tickets); a conversation with an open ticket is kept."""
        cutoff = (now or utcnow()) - self.retention
        with self.database.session() as db:
            busy = select(Ticket.conversation_id).where(Ticket.status.in_(ACTIVE))
            expired = select(Conversation.id).where(
                Conversation.last_seen_at < cutoff, Conversation.id.not_in(busy)
            )
            ids = list(db.scalars(expired))
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                answers = select(AnswerRecord.id).where(AnswerRecord.conversation_id.in_(chunk))
                db.execute(delete(Feedback).where(Feedback.answer_id.in_(answers)))
                db.execute(delete(AnswerRecord).where(AnswerRecord.conversation_id.in_(chunk)))
                db.execute(delete(Message).where(Message.conversation_id.in_(chunk)))
                db.execute(delete(Ticket).where(Ticket.conversation_id.in_(chunk)))
                db.execute(delete(Conversation).where(Conversation.id.in_(chunk)))
            return len(ids)

    def touch(self, conversation_id: str) -> None:
        with self.database.session() as db:
            db.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(last_seen_at=utcnow())
            )
