"""Conversation context stores: in memory, and in the database shared by server processes."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from service.conversations import new_session_id
from service.db.engine import get_database
from service.db.migrate import upgrade
from service.db.models import Conversation
from service.sessions import DbSessionStore, MemorySessionStore, Option, Turn, looks_like_follow_up


def _remember_from_another_process(url: str, session_id: str) -> None:
    DbSessionStore(get_database(url)).remember(session_id, Turn("契税的税率是多少", True))


def _issued(url: str) -> str:
    """A conversation row, as /api/v1/ask creates one (the server issued its id)."""
    database = get_database(url)
    upgrade(database)
    session_id = new_session_id()
    with database.session() as db:
        db.add(Conversation(id=session_id, channel="web"))
    return session_id


def test_db_sessions_are_shared_between_processes(database_url: str) -> None:
    session_id = _issued(database_url)
    store = DbSessionStore(get_database(database_url))
    process = multiprocessing.get_context("spawn").Process(
        target=_remember_from_another_process, args=(database_url, session_id)
    )
    process.start()
    process.join(60)
    assert process.exitcode == 0
    assert store.last(session_id) == Turn("契税的税率是多少", True)
    store.remember(session_id, Turn("国库券的发行对象", False))
    assert DbSessionStore(get_database(database_url)).last(session_id) == Turn(
        "国库券的发行对象", False
    )
    assert store.last("unknown") is None and store.last(None) is None


def test_db_sessions_store_nothing_for_ids_never_issued(database_url: str) -> None:
    _issued(database_url)
    store = DbSessionStore(get_database(database_url))
    store.remember("guessed", Turn("个税", True))
    assert store.last("guessed") is None
    with get_database(database_url).session() as db:
        assert db.get(Conversation, "guessed") is None


def test_db_sessions_persist_every_field_of_a_turn(database_url: str) -> None:
    """A pending clarification's options carry over, in order, through the JSON context."""
    session_id = _issued(database_url)
    store = DbSessionStore(get_database(database_url))
    options = (
        Option("灵活就业人员怎么交社保？", "faq", "sb-1"),
        Option("《社会保险法》第十条", "chunk", "42"),
    )
    store.remember(session_id, Turn("社保怎么交", False, options))
    assert store.last(session_id) == Turn("社保怎么交", False, options)
    store.remember(session_id, Turn("社保怎么交", True))
    assert store.last(session_id) == Turn("社保怎么交", True)


def test_sessions_expire(database_url: str) -> None:
    for store in (
        MemorySessionStore(ttl_seconds=0.2),
        DbSessionStore(get_database(database_url), ttl_seconds=0.2),
    ):
        session_id = _issued(database_url)
        store.remember(session_id, Turn("个税", True))
        assert store.last(session_id) is not None
        time.sleep(0.3)
        assert store.last(session_id) is None


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
