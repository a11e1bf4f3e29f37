"""Conversation context stores: in memory, and in an SQLite file shared by server processes."""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from service.sessions import (
    MemorySessionStore,
    SessionStore,
    SqliteSessionStore,
    Turn,
    looks_like_follow_up,
)


def _write_from_another_process(path: str) -> None:
    SqliteSessionStore(Path(path)).remember("s-child", Turn("契税的税率是多少", True))


def test_sqlite_sessions_are_shared_between_processes(tmp_path: Path) -> None:
    db = tmp_path / "sessions.sqlite"
    store = SqliteSessionStore(db)
    store.remember("s1", Turn("供应商怎么提出质疑", True))
    process = multiprocessing.get_context("spawn").Process(
        target=_write_from_another_process, args=(str(db),)
    )
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert store.last("s-child") == Turn("契税的税率是多少", True)
    assert SqliteSessionStore(db).last("s1") == Turn("供应商怎么提出质疑", True)
    store.remember("s1", Turn("国库券的发行对象", False))
    assert SqliteSessionStore(db).last("s1") == Turn("国库券的发行对象", False)
    assert store.last("unknown") is None and store.last(None) is None


@pytest.mark.parametrize(
    "make",
    [
        lambda p: MemorySessionStore(ttl_seconds=0.2),
        lambda p: SqliteSessionStore(p / "s.sqlite", ttl_seconds=0.2),
    ],
)
def test_sessions_expire(tmp_path: Path, make: Callable[[Path], SessionStore]) -> None:
    store = make(tmp_path)
    store.remember("s", Turn("个税", True))
    assert store.last("s") is not None
    time.sleep(0.3)
    assert store.last("s") is None


def test_memory_store_is_bounded() -> None:
    store = MemorySessionStore(max_sessions=3)
    for i in range(5):
        store.remember(f"s{i}", Turn(str(i), True))
    assert store.last("s0") is None and store.last("s1") is None
    assert store.last("s4") == Turn("4", True)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("那需要什么材料", True),
        ("那么多久能办好", True),
        ("这个要交税吗", True),
        ("需要什么材料", True),
        ("个人所得税的起征点是多少", False),
        ("今天天气怎么样", False),
        ("那么政府采购法规定的供应商质疑期限和投诉期限分别是多少个工作日", False),
    ],
)
def test_follow_up_cues(text: str, expected: bool) -> None:
    assert looks_like_follow_up(text) is expected


def test_clarification_options_are_kept_and_old_files_are_upgraded(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite"
    with sqlite3.connect(db) as old:  # a file written before clarifications existed
        old.execute(
            "CREATE TABLE turns (session_id TEXT PRIMARY KEY, question TEXT NOT NULL,"
            " answered INTEGER NOT NULL, seen REAL NOT NULL)"
        )
        old.execute("INSERT INTO turns VALUES ('s0', '契税', 1, ?)", (time.time(),))
    store = SqliteSessionStore(db)
    assert store.last("s0") == Turn("契税", True)
    turn = Turn("个税税率", False, ("faq:gs-shuilv", "chunk:123"))
    store.remember("s1", turn)
    assert SqliteSessionStore(db).last("s1") == turn
    memory = MemorySessionStore()
    memory.remember("s1", turn)
    assert memory.last("s1") == turn
