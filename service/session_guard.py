"""Conversation context that may fail without failing an answer.

``GuardedSessionStore`` wraps any ``SessionStore`` (memory, SQLite, the database layer): when the
store cannot be opened, read or written (a full disk, a locked or deleted file, a lost database
connection), the question is answered without context instead of failing, the problem is logged
once (one line, not per question) and ``problem`` says what is wrong for ``/readyz``. The store is
tried again on later questions (opening it at most every ``retry_seconds``), so health comes back
by itself once the disk has room again.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from service.sessions import SessionStore, Turn

log = logging.getLogger("policyqa.sessions")


class GuardedSessionStore:
    def __init__(self, open_store: Callable[[], SessionStore], *, retry_seconds: float = 5) -> None:
        self._open = open_store
        self.retry_seconds = retry_seconds
        self._store: SessionStore | None = None
        self._lock = threading.Lock()
        self._next_open = 0.0
        self.problem: str | None = None
        self._closed = False
        self._store_or_none()

    def _store_or_none(self) -> SessionStore | None:
        if self._store is not None or self._closed:
            return self._store
        with self._lock:
            if self._store is None and time.monotonic() >= self._next_open:
                try:
                    self._store = self._open()
                except Exception as exc:
                    self._next_open = time.monotonic() + self.retry_seconds
                    self._failed("会话存储无法打开", exc)
        return self._store

    def _failed(self, what: str, exc: Exception) -> None:
        problem = f"{what}：{type(exc).__name__}: {exc}"[:300]
        if self.problem is None:
            log.error("%s; questions are answered without conversation context", problem)
        self.problem = problem

    def _worked(self) -> None:
        if self.problem is not None:
            log.warning("session store works again")
            self.problem = None

    def last(self, session_id: str | None) -> Turn | None:
        if not session_id:
            return None
        store = self._store_or_none()
        if store is None:
            return None
        try:
            turn = store.last(session_id)
        except Exception as exc:
            self._failed("会话存储读取失败", exc)
            return None
        return turn

    def remember(self, session_id: str | None, turn: Turn) -> None:
        if not session_id:
            return
        store = self._store_or_none()
        if store is None:
            return
        try:
            store.remember(session_id, turn)
        except Exception as exc:
            self._failed("会话存储写入失败", exc)
            return
        self._worked()

    def close(self) -> None:
        self._closed = True
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception as exc:
                log.warning("session store did not close cleanly: %s", exc)
