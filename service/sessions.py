"""Conversation context: the previous turn of a session, so that a follow-up question
("那需要什么材料？") is understood in its light.

Two stores with one interface: in process memory (the command line and the evaluation), and on
the conversation's row in the database (the served app: every worker and every instance on one
database share it). Both forget a session's context ``ttl_seconds`` after its last question.

On the served path the database store reads and writes nothing itself: service/conversations.py
already reads the conversation's row before answering and writes the answer after, so it hands the
stored context over (``carried_context``) and stores the new one with the answer, in the same two
transactions (two more per question cost the server ~1.5 ms of CPU and the write lock twice).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update

from service.db.engine import Database
from service.db.models import Conversation, utcnow

# A follow-up leans on the previous turn: it opens with a connective, points back at it, or is a
# bare question without a subject of its own (需要什么材料？多久能办好？).
_FOLLOW_UP = re.compile(
    r"^(那|那么|还有|另外|然后|如果|要是|假如|此外|以及)"
    r"|这个|那个|这种|那种|上述|上面|刚才|它|其中"
    r"|^(需要|要|得|该|应该|怎么|如何|多久|多长时间|几天|什么时候|何时|哪里|去哪|在哪|有哪些|有什么|是否|能不能|可以吗)"
)


@dataclass(frozen=True)
class Option:
    """One choice of a pending clarification: what the citizen saw, and what answers it
    (``kind`` "faq": an FAQ entry id; "chunk": a passage's chunk id)."""

    label: str
    kind: str
    key: str


@dataclass(frozen=True)
class Turn:
    question: str  # the effective (possibly combined) question, normalised
    answered: bool
    options: tuple[Option, ...] = ()  # a clarification's choices, numbered from 1


def _options(raw: object) -> tuple[Option, ...]:
    """The options of a stored context (a JSON list of objects); anything malformed is none."""
    if not isinstance(raw, list):
        return ()
    out = []
    for item in raw:
        if not isinstance(item, dict):
            return ()
        label, kind, key = item.get("label"), item.get("kind"), item.get("key")
        if not (isinstance(label, str) and isinstance(kind, str) and isinstance(key, str)):
            return ()
        out.append(Option(label, kind, key))
    return tuple(out)


def looks_like_follow_up(text: str) -> bool:
    return len(text) <= 20 and bool(_FOLLOW_UP.search(text))


class SessionStore(Protocol):
    """May raise on storage failure: service/session_guard.py turns that into answering without
    context. ``close`` releases files and connections at shutdown."""

    def last(self, session_id: str | None) -> Turn | None: ...

    def remember(self, session_id: str | None, turn: Turn) -> None: ...

    def close(self) -> None: ...


class MemorySessionStore:
    def __init__(self, *, ttl_seconds: float = 1800, max_sessions: int = 10000) -> None:
        self.ttl, self.max_sessions = ttl_seconds, max_sessions
        self._turns: OrderedDict[str, tuple[float, Turn]] = OrderedDict()
        self._lock = threading.Lock()

    def last(self, session_id: str | None) -> Turn | None:
        if not session_id:
            return None
        with self._lock:
            item = self._turns.get(session_id)
            if item is None:
                return None
            stamp, turn = item
            if time.monotonic() - stamp > self.ttl:
                del self._turns[session_id]
                return None
            return turn

    def remember(self, session_id: str | None, turn: Turn) -> None:
        if not session_id:
            return
        with self._lock:
            self._turns[session_id] = (time.monotonic(), turn)
            self._turns.move_to_end(session_id)
            while len(self._turns) > self.max_sessions:
                self._turns.popitem(last=False)

    def close(self) -> None:
        with self._lock:
            self._turns.clear()


def stored_context(turn: Turn) -> dict[str, Any]:
    """A turn as the conversation's row stores it (``conversations.context``, JSON)."""
    return asdict(turn)


@dataclass
class CarriedContext:
    """One question's context, carried by the conversation's own transactions: ``context`` and
    ``context_at`` as read from its row before answering, ``remembered`` the turn to store with
    the answer (None: the answerer remembered nothing, the row's context stays)."""

    database: Database
    session_id: str
    context: dict[str, Any] | None
    context_at: datetime | None
    remembered: Turn | None = field(default=None)


_carried: ContextVar[CarriedContext | None] = ContextVar("policyqa_carried_context", default=None)


@contextmanager
def carried_context(carried: CarriedContext) -> Iterator[CarriedContext]:
    """While answering one question (in the calling thread), a ``DbSessionStore`` on the same
    database serves that session's context from ``carried`` and records what it is told to
    remember there, instead of a transaction of its own for each."""
    token = _carried.set(carried)
    try:
        yield carried
    finally:
        _carried.reset(token)


class DbSessionStore:
    """The served store: context lives on the conversation's row in the database, so every
    worker process and every server instance on one database sees it. Only server-issued
    session ids have a row; ``remember`` on any other id stores nothing."""

    def __init__(self, database: Database, *, ttl_seconds: float = 1800) -> None:
        self.database, self.ttl = database, ttl_seconds

    def close(self) -> None:
        """Nothing of its own to release: the database is shared with the rest of the app."""

    def _carried(self, session_id: str) -> CarriedContext | None:
        carried = _carried.get()
        if carried is None or carried.session_id != session_id:
            return None
        return carried if carried.database is self.database else None

    def last(self, session_id: str | None) -> Turn | None:
        if not session_id:
            return None
        carried = self._carried(session_id)
        if carried is not None:
            if carried.remembered is not None:
                return carried.remembered
            return self._turn(carried.context, carried.context_at)
        with self.database.session() as db:
            row = db.execute(
                select(Conversation.context, Conversation.context_at).where(
                    Conversation.id == session_id
                )
            ).first()
        return None if row is None else self._turn(row.context, row.context_at)

    def _turn(self, context: dict[str, Any] | None, at: datetime | None) -> Turn | None:
        if context is None or at is None:
            return None
        if (utcnow() - at).total_seconds() > self.ttl:
            return None
        known = {f.name for f in fields(Turn)} - {"options"}
        turn = Turn(**{k: v for k, v in context.items() if k in known})
        return replace(turn, options=_options(context.get("options")))

    def remember(self, session_id: str | None, turn: Turn) -> None:
        if not session_id:
            return
        carried = self._carried(session_id)
        if carried is not None:
            carried.remembered = turn
            return
        with self.database.session() as db:
            db.execute(
                update(Conversation)
                .where(Conversation.id == session_id)
                .values(context=stored_context(turn), context_at=utcnow())
            )
