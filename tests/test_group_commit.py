"""Group commit of small write transactions (service/db/group_commit.py), on SQLite and on
PostgreSQL: work that arrives while a transaction runs is committed in the next one, each caller
returns only after its own commit, and one failing work fails nobody else."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import Connection, func, select
from sqlalchemy.exc import IntegrityError

from service import conversation_rows as rows
from service.db.engine import Database, get_database
from service.db.group_commit import GroupCommit
from service.db.migrate import upgrade
from service.db.models import Conversation, utcnow


def _database(url: str) -> Database:
    database = get_database(url)
    upgrade(database)
    return database


def _open(conversation_id: str) -> Callable[[Connection], str]:
    def work(db: Connection) -> str:
        rows.open_conversation(
            db, conversation_id=conversation_id, channel="web", key=None, now=utcnow()
        )
        return conversation_id

    return work


def _stored(database: Database) -> set[str]:
    with database.transaction() as db:
        return set(db.scalars(select(Conversation.id)))


def test_work_arriving_together_is_committed_together(database_url: str) -> None:
    database = _database(database_url)
    writes = GroupCommit(database)
    first_running, others_queued = threading.Event(), threading.Event()

    def first(db: Connection) -> str:
        first_running.set()
        assert others_queued.wait(30)
        return _open("c0")(db)

    with ThreadPoolExecutor(9) as pool:
        futures = [pool.submit(writes.run, first)]
        assert first_running.wait(30)
        futures += [pool.submit(writes.run, _open(f"c{i}")) for i in range(1, 9)]
        deadline = time.monotonic() + 30
        while len(writes._queue) < 8:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        others_queued.set()
        assert [f.result(60) for f in futures] == [f"c{i}" for i in range(9)]
    assert writes.stats.transactions == 2 and writes.stats.works == 9  # alone, then the 8
    assert _stored(database) == {f"c{i}" for i in range(9)}


def test_a_caller_returns_after_its_commit(database_url: str) -> None:
    database = _database(database_url)
    GroupCommit(database).run(_open("seen"))
    with database.transaction() as db:  # another connection sees it at once
        assert db.scalar(select(func.count()).where(Conversation.id == "seen")) == 1


def test_one_failing_work_fails_only_its_caller(database_url: str) -> None:
    database = _database(database_url)
    writes = GroupCommit(database)
    writes.run(_open("taken"))
    gate = threading.Event()

    def held(db: Connection) -> str:
        assert gate.wait(30)
        return _open("held")(db)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(writes.run, held)]
        time.sleep(0.2)
        futures += [
            pool.submit(writes.run, _open(name))
            for name in ("a", "taken", "b")  # "taken" breaks the primary key
        ]
        deadline = time.monotonic() + 30
        while len(writes._queue) < 3:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        gate.set()
        assert futures[0].result(60) == "held"
        assert futures[1].result(60) == "a" and futures[3].result(60) == "b"
        with pytest.raises(IntegrityError):
            futures[2].result(60)
    assert writes.stats.retried_alone == 3
    assert _stored(database) == {"taken", "held", "a", "b"}
