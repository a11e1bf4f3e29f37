"""Conversation context: the previous turn of a session, so that a follow-up question
("那需要什么材料？") is understood in its light.

Two stores with one interface: in process memory (one server process), or an SQLite file that
several server processes share (``policyqa serve --workers N``). Both bound their size and forget
a session after ``ttl_seconds`` without a question.
"""

from __future__ import annotations

import re
import sqlite3
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

# A follow-up leans on the previous turn: it opens with a connective, points back at it, or is a
# bare question without a subject of its own (需要什么材料？多久能办好？).
_FOLLOW_UP = re.compile(
    r"^(那|那么|还有|另外|然后|如果|要是|假如|此外|以及)"
    r"|这个|那个|这种|那种|上述|上面|刚才|它|其中"
    r"|^(需要|要|得|该|应该|怎么|如何|多久|多长时间|几天|什么时候|何时|哪里|去哪|在哪|有哪些|有什么|是否|能不能|可以吗)"
)
MAX_SESSION_ID = 128


@dataclass(frozen=True)
class Turn:
    question: str  # the effective (possibly combined) question, normalised
    answered: bool
    # A clarification's options ("faq:<id>" or "chunk:<id>"), which the next message may pick.
    options: tuple[str, ...] = ()


def looks_like_follow_up(text: str) -> bool:
    return len(text) <= 20 and bool(_FOLLOW_UP.search(text))


class SessionStore(Protocol):
    def last(self, session_id: str | None) -> Turn | None: ...

    def remember(self, session_id: str | None, turn: Turn) -> None: ...


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


class SqliteSessionStore:
    """Sessions in one SQLite file (WAL), shared by the worker processes of one server."""

    _SCHEMA = (
        "CREATE TABLE IF NOT EXISTS turns (session_id TEXT PRIMARY KEY, question TEXT NOT NULL,"
        " answered INTEGER NOT NULL, seen REAL NOT NULL, options TEXT NOT NULL DEFAULT '')"
    )

    def __init__(
        self, path: Path, *, ttl_seconds: float = 1800, max_sessions: int = 100000
    ) -> None:
        self.path, self.ttl, self.max_sessions = path, ttl_seconds, max_sessions
        self._local = threading.local()
        self._writes = 0
        with self._db() as db:
            db.execute(self._SCHEMA)
            db.execute("CREATE INDEX IF NOT EXISTS turns_seen ON turns (seen)")
            columns = {row[1] for row in db.execute("PRAGMA table_info(turns)")}
            if "options" not in columns:  # a file written before clarifications existed
                db.execute("ALTER TABLE turns ADD COLUMN options TEXT NOT NULL DEFAULT ''")

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=5, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            self._local.db = db
        return db

    def last(self, session_id: str | None) -> Turn | None:
        if not session_id:
            return None
        row = (
            self._db()
            .execute(
                "SELECT question, answered, seen, options FROM turns WHERE session_id = ?",
                (session_id,),
            )
            .fetchone()
        )
        if row is None or time.time() - row[2] > self.ttl:
            return None
        return Turn(row[0], bool(row[1]), tuple(row[3].split("\n")) if row[3] else ())

    def remember(self, session_id: str | None, turn: Turn) -> None:
        if not session_id:
            return
        db = self._db()
        db.execute(
            "INSERT INTO turns (session_id, question, answered, seen, options) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (session_id) DO UPDATE SET question = excluded.question,"
            " answered = excluded.answered, seen = excluded.seen, options = excluded.options",
            (session_id, turn.question, int(turn.answered), time.time(), "\n".join(turn.options)),
        )
        self._writes += 1
        if self._writes % 1000 == 0:  # now and then: drop expired sessions, bound the table
            db.execute("DELETE FROM turns WHERE seen < ?", (time.time() - self.ttl,))
            db.execute(
                "DELETE FROM turns WHERE session_id IN (SELECT session_id FROM turns "
                "ORDER BY seen DESC LIMIT -1 OFFSET ?)",
                (self.max_sessions,),
            )
