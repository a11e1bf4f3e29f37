"""Small write transactions that arrive together, committed together.

Every question writes twice (the citizen's message, then the answer). One transaction each
means a BEGIN, a COMMIT and, on SQLite, the database's one write lock per write: under load the
request threads of a worker queue for that lock (SQLite's busy handler sleeps between tries) and
for the connection pool, and the begin/commit bookkeeping costs more than the few INSERTs.

``GroupCommit.run(work)`` runs ``work(connection)`` in a transaction and returns its result once
that transaction has committed, as a transaction of its own would. Work that arrives while
another caller's transaction is running is queued; whichever caller takes the writer next runs
everything queued in one transaction ("group commit", as service/query_encoder.py does for
question embeddings). A lone caller never waits for company. Nothing is written behind the
caller's back: every caller waits for its own commit, so what a request wrote is in the database
(for the staff desk, the analytics, the next question) when its response is sent, and the queue
never holds more than the callers waiting on it (at most ``max_batch`` go in one transaction).

One caller's failure never fails another's: when a batch fails, it is rolled back and each work
runs again alone in its own transaction; only the work that fails alone gets the error. Work
must therefore touch nothing but the database (it may run twice, the first run rolled back).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Connection

from service.db.engine import Database

T = TypeVar("T")


@dataclass(eq=False)
class _Pending:
    work: Callable[[Connection], Any]
    result: Any = None
    succeeded: bool = False
    error: BaseException | None = None
    finished: threading.Event = field(default_factory=threading.Event)


@dataclass
class CommitStats:
    """What the writer did: transactions committed and works run (read by tests and benches)."""

    works: int = 0
    transactions: int = 0
    retried_alone: int = 0


class GroupCommit:
    def __init__(self, database: Database, *, max_batch: int = 64) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.database, self.max_batch = database, max_batch
        self.stats = CommitStats()
        self._mutex = threading.Lock()  # guards the queue and the stats
        self._writer = threading.Lock()  # held by the caller running a transaction
        self._queue: list[_Pending] = []

    def run(self, work: Callable[[Connection], T]) -> T:
        item = _Pending(work)
        with self._mutex:
            self._queue.append(item)
        while not item.finished.is_set():
            with self._writer:
                with self._mutex:
                    batch = self._queue[: self.max_batch]
                    del self._queue[: self.max_batch]
                if batch:
                    self._commit(batch)
            if not batch:  # another caller has taken our work: wait for its commit
                item.finished.wait()
        if item.error is not None:
            raise item.error
        result: T = item.result
        return result

    def _commit(self, batch: Sequence[_Pending]) -> None:
        try:
            self._commit_or_retry(batch)
        finally:  # every caller is released, even when the writer itself is interrupted
            for item in batch:
                if not item.succeeded and item.error is None:
                    item.error = RuntimeError("the transaction was interrupted")
                item.finished.set()

    def _commit_or_retry(self, batch: Sequence[_Pending]) -> None:
        try:
            results = self._transaction(batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].error = exc
                return
            with self._mutex:
                self.stats.retried_alone += len(batch)
            for item in batch:  # one failing work must not fail the others: each runs alone
                try:
                    item.result = self._transaction([item])[0]
                    item.succeeded = True
                except Exception as alone:
                    item.error = alone
            return
        for item, result in zip(batch, results, strict=True):
            item.result, item.succeeded = result, True

    def _transaction(self, batch: Sequence[_Pending]) -> list[Any]:
        with self.database.transaction() as connection:
            results = [item.work(connection) for item in batch]
        with self._mutex:
            self.stats.transactions += 1
            self.stats.works += len(batch)
        return results
