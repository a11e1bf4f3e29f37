"""``policyqa db upgrade``, ``policyqa admin create-user`` and ``policyqa db purge`` as an
operator runs them, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import inspect, select

from service.app import create_app
from service.config import Settings
from service.db.engine import get_database
from service.db.migrate import head
from service.db.models import AnswerRecord, Conversation, Feedback, Message, Ticket
from tests.conftest import run_cli


def test_upgrade_from_an_empty_database(database_url: str) -> None:
    first = run_cli("db", "upgrade", "--database-url", database_url)
    assert first.returncode == 0, first.stderr
    assert f"空 → {head()}" in first.stdout
    again = run_cli("db", "upgrade", "--database-url", database_url)
    assert again.returncode == 0 and f"{head()} → {head()}" in again.stdout
    tables = set(inspect(get_database(database_url).engine).get_table_names())
    assert {"conversations", "messages", "answers", "tickets", "audit_log"} <= tables


def test_upgrade_without_a_database_says_how(tmp_path: Path) -> None:
    result = run_cli("db", "upgrade", env={"DATABASE_URL": "", "POLICYQA_DATABASE_URL": ""})
    assert result.returncode == 2 and "DATABASE_URL" in result.stderr


def test_create_user_and_sign_in(database_url: str, tmp_path: Path) -> None:
    password = "一个足够长的密码-2026"
    assert run_cli("db", "upgrade", "--database-url", database_url).returncode == 0
    result = run_cli_input(
        password,
        "admin",
        "create-user",
        "张三",
        "--role",
        "admin",
        "--role",
        "agent",
        "--password-stdin",
        "--database-url",
        database_url,
    )
    assert result.returncode == 0, result.stderr
    assert "已创建工作人员 张三" in result.stdout and "管理员、客服" in result.stdout
    dup = run_cli_input(
        password,
        "admin",
        "create-user",
        "张三",
        "--role",
        "agent",
        "--password-stdin",
        "--database-url",
        database_url,
    )
    assert dup.returncode == 2 and "已存在" in dup.stderr
    weak = run_cli_input(
        "short",
        "admin",
        "create-user",
        "李四",
        "--role",
        "agent",
        "--password-stdin",
        "--database-url",
        database_url,
    )
    assert weak.returncode == 2 and "密码至少" in weak.stderr
    bad_role = run_cli(
        "admin", "create-user", "王五", "--role", "root", "--database-url", database_url
    )
    assert bad_role.returncode == 2
    app = create_app(Settings(index_dir=tmp_path / "none", database_url=database_url))
    with TestClient(app, base_url="https://testserver") as client:
        me = client.post("/api/v1/staff/session", json={"name": "张三", "password": password})
        assert me.status_code == 200 and me.json()["roles"] == ["admin", "agent"]


def run_cli_input(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:

    exe = Path(sys.executable).with_name("policyqa")
    return subprocess.run(
        [str(exe), *args],
        input=stdin + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ},
    )


def test_purge_deletes_expired_conversations_only(database_url: str) -> None:
    assert run_cli("db", "upgrade", "--database-url", database_url).returncode == 0
    now = datetime.now(UTC).replace(tzinfo=None)
    old = now - timedelta(days=40)
    with get_database(database_url).session() as db:
        for cid, seen in (("old", old), ("recent", now), ("old-open", old)):
            db.add(Conversation(id=cid, channel="web", created_at=seen, last_seen_at=seen))
            db.flush()
            db.add(Message(conversation_id=cid, role="citizen", text="个税", created_at=seen))
            db.add(
                AnswerRecord(
                    id=f"a-{cid}",
                    conversation_id=cid,
                    channel="web",
                    question="个税",
                    type="faq",
                    confidence=0.9,
                    sources=[],
                    latency_ms=3.0,
                    created_at=seen,
                )
            )
            db.flush()
            db.add(Feedback(answer_id=f"a-{cid}", helpful=True))
        db.add(
            Ticket(
                id="t-old",
                conversation_id="old",
                channel="web",
                status="closed",
                reason="human",
                created_at=old,
            )
        )
        db.add(
            Ticket(
                id="t-open",
                conversation_id="old-open",
                channel="web",
                status="open",
                reason="human",
                created_at=old,
            )
        )
    result = run_cli("db", "purge", "--days", "30", "--database-url", database_url)
    assert result.returncode == 0, result.stderr
    assert "已删除 1 个超过 30 天未活动的会话" in result.stdout
    with get_database(database_url).session() as db:
        assert set(db.scalars(select(Conversation.id))) == {"recent", "old-open"}
        assert set(db.scalars(select(Message.conversation_id))) == {"recent", "old-open"}
        assert set(db.scalars(select(AnswerRecord.id))) == {"a-recent", "a-old-open"}
        assert len(list(db.scalars(select(Feedback.id)))) == 2
        assert set(db.scalars(select(Ticket.id))) == {"t-open"}
