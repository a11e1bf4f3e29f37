"""Conversation context: the previous turn of a session, so that a follow-up question
("那需要什么材料？") is understood in its light.

Two stores with one interface: in process memory (the command line and the evaluation), and on
the conversation's row in the database (the served app: every worker and every instance on one
database share it). Both forget a session's context ``ttl_seconds`` after its last question.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields, replace
from typing import Protocol

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


class DbSessionStore:
    """The served store: context lives on the conversation's row in the database, so every
    worker process and every server instance on one database sees it. Only server-issued
    session ids have a row; ``remember`` on any other id stores nothing."""

    def __init__(self, database: Database, *, ttl_seconds: float = 1800) -> None:
        self.database, self.ttl = database, ttl_seconds

    def close(self) -> None:
        """Nothing of its own to release: the database is shared with the rest of the app."""

    def last(self, session_id: str | None) -> Turn | None:
        if not session_id:
            return None
        with self.database.session() as db:
            row = db.execute(
                select(Conversation.context, Conversation.context_at).where(
                    Conversation.id == session_id
                )
            ).first()
        if row is None or row.context is None or row.context_at is None:
            return None
        if (utcnow() - row.context_at).total_seconds() > self.ttl:
            return None
        known = {f.name for f in fields(Turn)} - {"options"}
        turn = Turn(**{k: v for k, v in row.context.items() if k in known})
        return replace(turn, options=_options(row.context.get("options")))

    def remember(self, session_id: str | None, turn: Turn) -> None:
        if not session_id:
            return
        with self.database.session() as db:
            db.execute(
                update(Conversation)
                .where(Conversation.id == session_id)
                .values(context=asdict(turn), context_at=utcnow())
            )
