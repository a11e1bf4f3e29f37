"""Conversations and the handoff desk through HTTP, on SQLite and on PostgreSQL: hand-over,
queue, claim, reply, silence while a ticket is open, close; feedback; masking of personal
numbers; expired and unknown sessions; concurrent claims; bad input stores nothing."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from service.answering import Answerer
from service.db.engine import get_database
from service.db.models import Conversation, Message, Ticket
from service.engine import load_answerer
from tests.conftest import ask
from tests.desk_helpers import desk_app, make_user, sign_in, token_for


@pytest.fixture(scope="module")
def answerer(sample_index: Path) -> Answerer:
    return load_answerer(sample_index)


@pytest.fixture
def client(answerer: Answerer, sample_index: Path, database_url: str) -> Any:
    with desk_app(answerer, sample_index, database_url) as c:
        make_user(database_url, "agent1", "agent")
        make_user(database_url, "agent2", "agent")
        make_user(database_url, "boss", "admin")
        yield c


def count(url: str, model: Any) -> int:
    with get_database(url).session() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_full_flow_handoff_claim_reply_silence_close(client: TestClient, database_url: str) -> None:
    first = ask(client, "个人所得税的起征点是多少？")
    session = first["session_id"]
    assert first["type"] == "faq"
    handed = ask(client, "我要转人工", session)
    assert handed["type"] == "handoff" and handed["handoff"] and handed["session_id"] == session
    assert handed["answer"].count("已为您转接人工服务") == 1 and "回复" in handed["answer"]

    agent, csrf = sign_in(client, "agent1")
    queue = agent.get("/api/v1/staff/tickets").json()["tickets"]
    assert [t["session_id"] for t in queue] == [session]
    ticket = queue[0]
    assert ticket["status"] == "open" and ticket["channel"] == "web"
    assert ticket["waiting_seconds"] >= 0
    detail = agent.get(f"/api/v1/staff/tickets/{ticket['id']}").json()
    assert [m["role"] for m in detail["messages"]][:4] == ["citizen", "bot", "citizen", "bot"]
    assert detail["messages"][0]["text"] == "个人所得税的起征点是多少？"

    claimed = agent.post(f"/api/v1/staff/tickets/{ticket['id']}/claim", headers=csrf)
    assert claimed.status_code == 200 and claimed.json()["assignee"] == "agent1"
    for text_ in ("您好，我是财政局工作人员。", "个税起征点为每月五千元。"):
        r = agent.post(
            f"/api/v1/staff/tickets/{ticket['id']}/messages", json={"text": text_}, headers=csrf
        )
        assert r.status_code == 200, r.text

    messages = client.get(f"/api/v1/sessions/{session}/messages").json()["messages"]
    ids = [m["id"] for m in messages]
    assert ids == sorted(ids)
    staff = [m for m in messages if m["role"] == "staff"]
    assert [m["text"] for m in staff] == ["您好，我是财政局工作人员。", "个税起征点为每月五千元。"]
    assert all(m["answer"] is None for m in staff)
    bots = [m for m in messages if m["role"] == "bot"]
    assert bots[0]["answer"]["answer_id"] == first["answer_id"]
    datetime.fromisoformat(messages[0]["created_at"])
    after = client.get(f"/api/v1/sessions/{session}/messages", params={"after": staff[0]["id"]})
    assert [m["text"] for m in after.json()["messages"]] == ["个税起征点为每月五千元。"]

    silent = ask(client, "那公积金怎么提取？", session)
    assert silent["type"] == "handoff" and silent["handoff"] and silent["sources"] == []
    assert "工作人员" in silent["answer"] and silent["session_id"] == session
    detail = agent.get(f"/api/v1/staff/tickets/{ticket['id']}").json()
    assert detail["messages"][-2]["text"] == "那公积金怎么提取？"

    closed = agent.post(
        f"/api/v1/staff/tickets/{ticket['id']}/close",
        json={"resolution": "已电话答复起征点问题"},
        headers=csrf,
    )
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert agent.get("/api/v1/staff/tickets").json()["tickets"] == []
    again = ask(client, "个人所得税的起征点是多少？", session)
    assert again["type"] == "faq" and again["session_id"] == session

    admin, _ = sign_in(client, "boss")
    actions = [e["action"] for e in admin.get("/api/v1/staff/audit").json()["entries"]]
    for action in ("claim", "reply", "close", "login"):
        assert action in actions
    only = admin.get("/api/v1/staff/audit", params={"action": "reply", "actor": "agent1"})
    assert [e["action"] for e in only.json()["entries"]] == ["reply", "reply"]


def test_every_question_and_answer_is_recorded(client: TestClient, database_url: str) -> None:
    body = ask(client, "政府采购可以采用哪些方式？")
    with get_database(database_url).session() as db:
        row = db.execute(
            text(
                "SELECT channel, type, confidence, sources, latency_ms FROM answers WHERE id = :i"
            ),
            {"i": body["answer_id"]},
        ).one()
        question = db.scalar(
            select(Message.text).where(
                Message.conversation_id == body["session_id"], Message.role == "citizen"
            )
        )
    sources = row.sources if isinstance(row.sources, list) else json.loads(row.sources)
    assert row.channel == "web" and row.type == "faq"
    assert abs(row.confidence - body["confidence"]) < 1e-6
    assert [s["doc_id"] for s in sources] == [s["doc_id"] for s in body["sources"]]
    assert row.latency_ms > 0 and question == "政府采购可以采用哪些方式？"


def test_feedback(client: TestClient, database_url: str) -> None:
    body = ask(client, "政府采购可以采用哪些方式？")
    ok = client.post(
        "/api/v1/feedback",
        json={"answer_id": body["answer_id"], "helpful": False, "comment": "没说到竞争性磋商"},
    )
    assert ok.status_code == 200 and ok.json() == {"status": "ok"}
    missing = client.post("/api/v1/feedback", json={"answer_id": "nope", "helpful": True})
    assert missing.status_code == 404 and "回答" in missing.json()["detail"]
    bad = client.post("/api/v1/feedback", json={"answer_id": body["answer_id"], "helpful": "是"})
    assert bad.status_code == 422
    long = client.post(
        "/api/v1/feedback",
        json={"answer_id": body["answer_id"], "helpful": True, "comment": "很" * 1001},
    )
    assert long.status_code == 422 and "过长" in long.json()["detail"]
    with get_database(database_url).session() as db:
        rows = db.execute(text("SELECT helpful, comment FROM feedback")).all()
    assert [(bool(r.helpful), r.comment) for r in rows] == [(False, "没说到竞争性磋商")]


# Real-format numbers: a valid ID-card number (check digit X), a mobile number, a bank card
# number passing the Luhn check, written in groups as people do.
ID_CARD = "11010519491231002X"
MOBILE = "13812345678"
CARD = "6222 0212 3456 7890 128"


def test_personal_numbers_are_masked_before_storing(client: TestClient, database_url: str) -> None:
    from service.pii import _luhn

    assert _luhn(CARD.replace(" ", ""))
    question = f"我的身份证号{ID_CARD}，手机{MOBILE}，银行卡{CARD}，社保怎么补缴？"
    body = ask(client, question)
    session = body["session_id"]
    client.post(
        "/api/v1/feedback",
        json={"answer_id": body["answer_id"], "helpful": False, "comment": f"请打{MOBILE}"},
    )
    ask(client, f"转人工，电话{MOBILE}", session)
    agent, csrf = sign_in(client, "agent1")
    ticket = agent.get("/api/v1/staff/tickets").json()["tickets"][0]["id"]
    agent.post(f"/api/v1/staff/tickets/{ticket}/claim", headers=csrf)
    agent.post(
        f"/api/v1/staff/tickets/{ticket}/messages",
        json={"text": f"已记下您的卡号 {CARD}"},
        headers=csrf,
    )
    agent.post(
        f"/api/v1/staff/tickets/{ticket}/close",
        json={"resolution": f"已回电 {MOBILE}"},
        headers=csrf,
    )
    dump = _dump_all_tables(database_url)
    for raw in (ID_CARD, MOBILE, CARD, CARD.replace(" ", ""), "19491231"):
        assert raw not in dump, raw
    assert "110105********002X" in dump and "138****5678" in dump
    assert "***************0128" in dump
    stored = client.get(f"/api/v1/sessions/{session}/messages").json()["messages"][0]["text"]
    assert stored.startswith("我的身份证号110105********002X，手机138****5678，银行卡*")


def _dump_all_tables(url: str) -> str:
    from service.db.models import Base

    parts = []
    with get_database(url).session() as db:
        for table in Base.metadata.sorted_tables:
            for row in db.execute(select(table)).all():
                parts.append(json.dumps([str(v) for v in row], ensure_ascii=False))
    return "\n".join(parts)


def test_unknown_and_expired_sessions_start_new_conversations(
    answerer: Answerer, sample_index: Path, database_url: str
) -> None:
    with desk_app(answerer, sample_index, database_url, session_ttl_seconds=60) as client:
        body = ask(client, "国库券的发行对象有哪些？")
        session = body["session_id"]
        assert ask(client, "那怎么缴费？", session)["session_id"] == session
        with get_database(database_url).session() as db:
            db.execute(
                update(Conversation)
                .where(Conversation.id == session)
                .values(last_seen_at=datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1))
            )
        renewed = ask(client, "那怎么缴费？", session)
        assert renewed["session_id"] != session
        assert ask(client, "个税", "never-issued-" + "x" * 30)["session_id"] != session
        missing = client.get("/api/v1/sessions/never-issued/messages")
        assert missing.status_code == 404 and "会话" in missing.json()["detail"]
        assert client.get("/api/v1/sessions/never-issued/events").status_code == 404
        handoff = client.post("/api/v1/handoff", json={"session_id": "never-issued"})
        assert handoff.status_code == 404 and "会话" in handoff.json()["detail"]
        assert count(database_url, Ticket) == 0


def test_handoff_endpoint_and_office_hours(
    answerer: Answerer, sample_index: Path, database_url: str
) -> None:
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    holidays = ",".join(str(today + timedelta(days=d)) for d in range(3))
    back = today + timedelta(days=3)
    while back.isoweekday() > 5:
        back += timedelta(days=1)
    with desk_app(answerer, sample_index, database_url, holidays=holidays) as client:
        body = ask(client, "公务员的工资标准是多少？")
        r = client.post("/api/v1/handoff", json={"session_id": body["session_id"]})
        assert r.status_code == 200, r.text
        out = r.json()
        assert out["status"] == "open" and len(out["ticket_id"]) >= 16
        assert "非工作时间" in out["message"] and f"{back.month}月{back.day}日" in out["message"]
        again = client.post("/api/v1/handoff", json={"session_id": body["session_id"]})
        assert again.json()["ticket_id"] == out["ticket_id"], "one open ticket per conversation"
        silent = ask(client, "还在吗？", body["session_id"])
        assert silent["type"] == "handoff" and f"{back.month}月{back.day}日" in silent["answer"]
    assert count(database_url, Ticket) == 1


def test_two_agents_cannot_claim_the_same_ticket(client: TestClient, database_url: str) -> None:
    names = [f"agent-c{i}" for i in range(6)]
    headers = []
    for name in names:
        make_user(database_url, name, "agent")
        c, csrf = sign_in(client, name)
        headers.append(token_for(c, csrf))
    session = ask(client, "我要投诉")["session_id"]
    ticket = client.get("/api/v1/staff/tickets", headers=headers[0]).json()["tickets"][0]
    assert ticket["session_id"] == session and ticket["reason"] == "complaint"

    def claim(h: dict[str, str]) -> int:
        return client.post(f"/api/v1/staff/tickets/{ticket['id']}/claim", headers=h).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(pool.map(claim, headers))
    assert sorted(codes) == [200] + [409] * 5, codes
    owner = client.get(f"/api/v1/staff/tickets/{ticket['id']}", headers=headers[0]).json()
    assert owner["assignee"] == names[codes.index(200)]
    claims = [m for m in owner["messages"] if m["role"] == "system" and "接入" in m["text"]]
    assert len(claims) == 1


def test_transfer_and_refusals_store_nothing(client: TestClient, database_url: str) -> None:
    session = ask(client, "转人工")["session_id"]
    one, csrf1 = sign_in(client, "agent1")
    two, csrf2 = sign_in(client, "agent2")
    tid = one.get("/api/v1/staff/tickets").json()["tickets"][0]["id"]
    url = f"/api/v1/staff/tickets/{tid}"

    not_mine = two.post(f"{url}/messages", json={"text": "你好"}, headers=csrf2)
    assert not_mine.status_code == 409 and "认领" in not_mine.json()["detail"]
    assert one.post(f"{url}/claim", headers=csrf1).status_code == 200
    stale = one.post(f"{url}/messages", json={"text": "你好"}, headers={"X-CSRF-Token": "old"})
    assert stale.status_code == 403 and "CSRF" in stale.json()["detail"]
    no_csrf = one.post(f"{url}/messages", json={"text": "你好"})
    assert no_csrf.status_code == 403
    huge = one.post(f"{url}/messages", json={"text": "长" * 2001}, headers=csrf1)
    assert huge.status_code == 422 and "过长" in huge.json()["detail"]
    empty = one.post(f"{url}/messages", json={"text": "  "}, headers=csrf1)
    assert empty.status_code == 422 and "不能为空" in empty.json()["detail"]
    nobody = one.post(f"{url}/transfer", json={"to": "ghost"}, headers=csrf1)
    assert nobody.status_code == 422 and "ghost" in nobody.json()["detail"]
    moved = one.post(f"{url}/transfer", json={"to": "agent2"}, headers=csrf1)
    assert moved.status_code == 200 and moved.json()["assignee"] == "agent2"
    assert one.post(f"{url}/messages", json={"text": "你好"}, headers=csrf1).status_code == 409
    assert two.post(f"{url}/messages", json={"text": "您好"}, headers=csrf2).status_code == 200
    no_note = two.post(f"{url}/close", json={"resolution": ""}, headers=csrf2)
    assert no_note.status_code == 422
    assert two.post(f"{url}/close", json={"resolution": "已答复"}, headers=csrf2).status_code == 200
    before = count(database_url, Message)
    late = two.post(f"{url}/messages", json={"text": "补充一句"}, headers=csrf2)
    assert late.status_code == 409 and "已关闭" in late.json()["detail"]
    assert count(database_url, Message) == before
    staff_texts = [
        m["text"]
        for m in client.get(f"/api/v1/sessions/{session}/messages").json()["messages"]
        if m["role"] == "staff"
    ]
    assert staff_texts == ["您好"]
    admin, _ = sign_in(client, "boss")
    transfer = admin.get("/api/v1/staff/audit", params={"action": "transfer"}).json()
    assert transfer["entries"][0]["detail"] == {"to": "agent2"}


def test_push_channel_delivers_staff_replies(client: TestClient, database_url: str) -> None:
    from service.delivery import Delivery

    sent: list[tuple[str, str]] = []

    class Recording:
        name = "wechat"

        async def deliver(self, *, session_key: str, text: str) -> Delivery:
            sent.append((session_key, text))
            return (
                Delivery(False, "用户 48 小时内未互动，无法发送客服消息")
                if len(sent) > 2
                else Delivery(True)
            )

    app: Any = client.app
    app.state.deliverers["wechat"] = Recording()
    conversations = app.state.conversations
    portal = client.portal
    assert portal is not None
    answer = portal.call(
        lambda: conversations.ask(question="我要转人工", channel="wechat", session_key="oOPENID1")
    )
    assert answer["type"] == "handoff"
    agent, csrf = sign_in(client, "agent1")
    ticket = agent.get("/api/v1/staff/tickets").json()["tickets"][0]
    assert ticket["channel"] == "wechat"
    agent.post(f"/api/v1/staff/tickets/{ticket['id']}/claim", headers=csrf)
    url = f"/api/v1/staff/tickets/{ticket['id']}/messages"
    first = agent.post(url, json={"text": "您好"}, headers=csrf).json()
    second = agent.post(url, json={"text": "在吗"}, headers=csrf).json()
    # The claim is announced on the channel too, then each reply is pushed.
    assert sent == [
        ("oOPENID1", "工作人员（工号 1）已接入，正在为您服务。"),
        ("oOPENID1", "您好"),
        ("oOPENID1", "在吗"),
    ]
    assert first["delivered"] is True and second["delivered"] is False
    detail = agent.get(f"/api/v1/staff/tickets/{ticket['id']}").json()
    assert detail["messages"][-1]["delivery_note"].startswith("用户 48 小时")
    # A channel's conversation is not addressable by its internal id through the web API.
    assert client.get(f"/api/v1/sessions/{ticket['session_id']}/messages").status_code == 404
