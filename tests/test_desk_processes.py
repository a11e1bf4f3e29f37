"""The desk across processes, as it runs for real: two ``policyqa serve`` processes on one
PostgreSQL database with Redis. A staff reply posted through one process arrives on an event
stream held by the other; two agents claiming at once through different processes: one wins."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from tests.conftest import run_cli
from tests.databases import drop_postgres, fresh_postgres
from tests.test_service_cli import serving

REDIS = "redis://127.0.0.1:6379/0"
PASSWORD = "两个进程共用的密码-42"


@pytest.fixture(params=["postgresql+redis", "sqlite"])
def two_servers(
    request: pytest.FixtureRequest,
    sample_index: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[str, str, bool]]:
    """Two instances on one database: PostgreSQL with Redis, or one SQLite file (polling)."""
    with_redis = request.param == "postgresql+redis"
    url = fresh_postgres() if with_redis else f"sqlite:///{tmp_path / 'state.sqlite'}"
    try:
        assert run_cli("db", "upgrade", "--database-url", url).returncode == 0
        create_users(url, [("agent-a", "agent"), ("agent-b", "agent")])
        monkeypatch.setenv("DATABASE_URL", url)
        if with_redis:
            monkeypatch.setenv("REDIS_URL", REDIS)
        else:
            monkeypatch.delenv("REDIS_URL", raising=False)
            monkeypatch.delenv("POLICYQA_REDIS_URL", raising=False)
        monkeypatch.setenv("POLICYQA_COOKIE_SECURE", "false")  # plain http on loopback
        with ExitStack() as stack:
            a = stack.enter_context(serving(sample_index, tmp_path / "a.log"))
            b = stack.enter_context(serving(sample_index, tmp_path / "b.log"))
            yield a, b, with_redis
    finally:
        if with_redis:
            drop_postgres(url)


def run_cli_stdin(stdin: str, *args: str) -> Any:
    import os
    import subprocess
    import sys

    exe = Path(sys.executable).with_name("policyqa")
    return subprocess.run(
        [str(exe), *args],
        input=stdin + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )


def create_users(url: str, users: list[tuple[str, str]], password: str = PASSWORD) -> None:
    """``policyqa admin create-user NAME --role ROLE`` for each, the password on stdin."""
    for name, role in users:
        made = run_cli_stdin(
            password,
            "admin",
            "create-user",
            name,
            "--role",
            role,
            "--password-stdin",
            "--database-url",
            url,
        )
        assert made.returncode == 0, made.stderr


def signed_in(base: str, name: str) -> tuple[httpx.Client, dict[str, str]]:
    client = httpx.Client(base_url=base, timeout=30)
    r = client.post("/api/v1/staff/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return client, {"X-CSRF-Token": r.json()["csrf_token"]}


def listen(url: str, headers: dict[str, str], events: queue.Queue[Any]) -> None:
    """Reads a server-sent-event stream into ``events`` (dicts, or ": keep-alive")."""
    try:
        with httpx.stream("GET", url, headers=headers, timeout=60) as response:
            events.put(("status", response.status_code, response.headers["content-type"]))
            block: dict[str, str] = {}
            for line in response.iter_lines():
                if line == "":
                    if block:
                        events.put(block)
                    block = {}
                elif line.startswith(":"):
                    events.put(line)
                else:
                    key, _, value = line.partition(": ")
                    block[key] = value
    except httpx.HTTPError as exc:
        events.put(("closed", repr(exc)))


def next_message(events: queue.Queue[Any], role: str, timeout: float = 30) -> dict[str, Any]:
    while True:
        item = events.get(timeout=timeout)
        if isinstance(item, dict) and item.get("event") == "message":
            message: dict[str, Any] = json.loads(item["data"])
            assert item["id"] == str(message["id"])
            if message["role"] == role:
                return message


def test_reply_through_one_process_reaches_a_stream_held_by_another(
    two_servers: tuple[str, str, bool],
) -> None:
    a, b, with_redis = two_servers
    asked = httpx.post(f"{a}/api/v1/ask", json={"question": "我要转人工"}, timeout=30).json()
    session = asked["session_id"]
    assert asked["type"] == "handoff"

    events: queue.Queue[Any] = queue.Queue()
    stream_url = f"{b}/api/v1/sessions/{session}/events"
    threading.Thread(target=listen, args=(stream_url, {}, events), daemon=True).start()
    status = events.get(timeout=30)
    assert status[:2] == ("status", 200) and status[2].startswith("text/event-stream")
    assert next_message(events, "citizen")["text"] == "我要转人工"
    assert next_message(events, "bot")["answer"]["type"] == "handoff"
    if with_redis:
        # The stream on process B waits on Redis pub/sub for this conversation.
        channel = f"policyqa:conversation:{session}"
        subscribers = dict(redis.Redis.from_url(REDIS).pubsub_numsub(channel))
        assert subscribers[channel.encode()] >= 1

    agent, csrf = signed_in(a, "agent-a")
    ticket = agent.get("/api/v1/staff/tickets").json()["tickets"][0]
    assert ticket["session_id"] == session
    assert (
        agent.post(f"/api/v1/staff/tickets/{ticket['id']}/claim", headers=csrf).status_code == 200
    )
    reply = agent.post(
        f"/api/v1/staff/tickets/{ticket['id']}/messages",
        json={"text": "您好，我是财政局的工作人员，请讲。"},
        headers=csrf,
    )
    assert reply.status_code == 200
    arrived = next_message(events, "staff")
    assert arrived["text"] == "您好，我是财政局的工作人员，请讲。"
    assert arrived["id"] == reply.json()["message_id"]

    # Reconnecting with Last-Event-ID resumes after that message.
    resumed: queue.Queue[Any] = queue.Queue()
    headers = {"Last-Event-ID": str(arrived["id"] - 1)}
    threading.Thread(target=listen, args=(stream_url, headers, resumed), daemon=True).start()
    resumed.get(timeout=30)
    assert next_message(resumed, "staff")["id"] == arrived["id"]

    silent = httpx.post(
        f"{b}/api/v1/ask",
        json={"question": "政府采购有哪些方式？", "session_id": session},
        timeout=30,
    ).json()
    assert silent["type"] == "handoff" and silent["session_id"] == session
    assert next_message(events, "citizen")["text"] == "政府采购有哪些方式？"
    messages = httpx.get(f"{b}/api/v1/sessions/{session}/messages", timeout=30).json()
    assert [m["role"] for m in messages["messages"]].count("staff") == 1

    closed = agent.post(
        f"/api/v1/staff/tickets/{ticket['id']}/close", json={"resolution": "已答复"}, headers=csrf
    )
    assert closed.status_code == 200
    assert "结束" in next_message(events, "system")["text"]
    answered = httpx.post(
        f"{b}/api/v1/ask",
        json={"question": "政府采购可以采用哪些方式？", "session_id": session},
        timeout=30,
    ).json()
    assert answered["type"] == "faq"
    agent.close()


def test_concurrent_claims_through_two_processes(two_servers: tuple[str, str, bool]) -> None:
    a, b, with_redis = two_servers
    for _ in range(3):
        httpx.post(f"{a}/api/v1/ask", json={"question": "我要投诉"}, timeout=30)
    one, csrf_one = signed_in(a, "agent-a")
    two, csrf_two = signed_in(b, "agent-b")
    tickets = one.get("/api/v1/staff/tickets").json()["tickets"]
    assert len(tickets) == 3

    def claim(args: tuple[httpx.Client, dict[str, str], str]) -> int:
        client, csrf, tid = args
        return client.post(f"/api/v1/staff/tickets/{tid}/claim", headers=csrf).status_code

    for ticket in tickets:
        jobs = [(one, csrf_one, ticket["id"]), (two, csrf_two, ticket["id"])]
        with ThreadPoolExecutor(max_workers=2) as pool:
            codes = sorted(pool.map(claim, jobs))
        assert codes == [200, 409], codes
    one.close()
    two.close()
