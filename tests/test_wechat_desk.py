"""The WeChat channel through the handoff desk, end to end as the citizen and the agent use it:
WeChat XML on ``/wechat`` (signed as WeChat's servers sign it), the staff API and the ``/admin``
ticket page, staff replies reaching the local fake WeChat API as customer-service messages,
and the 48-hour refusal shown on the ticket. On SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from policyqa.server import channel_mounts
from service.answering import Answerer
from service.app import create_app
from service.config import Settings
from service.db.engine import get_database
from service.db.migrate import upgrade
from service.engine import load_answerer
from service.sessions import DbSessionStore
from tests.desk_helpers import make_user, sign_in
from tests.wechat_api_server import FakeWechat, fake_wechat
from tests.wechat_helpers import fields, signed, text_message, wechat_env

OPENID = "o9AgO5Kd5ggOC-bXrbNODIiE3bGY"
STAFF_REPLY = (
    "您好，我是财政局工作人员。政府采购的质疑应在知道或者应知其权益受到损害之日起七个工作日内提出。"
)
LATE_REPLY = "补充说明：质疑须以书面形式向采购人或者采购代理机构提出。"


@pytest.fixture(scope="module")
def answerer(sample_index: Path) -> Answerer:
    return load_answerer(sample_index)


@pytest.fixture
def fake() -> Iterator[tuple[FakeWechat, str]]:
    with fake_wechat() as served:
        yield served


@contextmanager
def served(
    answerer: Answerer, index: Path, url: str, env: dict[str, str], mp: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    """The application assembled as ``policyqa.server.create_server`` assembles it (service,
    then every channel's ``mount``), with the already loaded index and WECHAT_* ``env``."""
    for name in list(os.environ):
        if name.startswith("WECHAT_") or name in ("REDIS_URL", "POLICYQA_REDIS_URL"):
            mp.delenv(name)
    for name, value in env.items():
        mp.setenv(name, value)
    database = get_database(url)
    upgrade(database)
    answerer.sessions = DbSessionStore(database)  # the served store (Engine gives it otherwise)
    settings = Settings(index_dir=index, database_url=url)
    app = create_app(settings, answerer=answerer)
    for mount in channel_mounts():
        mount(app, settings)
    # https: the staff cookie is Secure
    with TestClient(app, base_url="https://testserver") as client:
        yield client


@pytest.fixture
def http(
    answerer: Answerer,
    sample_index: Path,
    database_url: str,
    fake: tuple[FakeWechat, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[TestClient]:
    env = wechat_env(fake[1], tmp_path / "wechat-state.sqlite")
    with served(answerer, sample_index, database_url, env, monkeypatch) as client:
        make_user(database_url, "agent1", "agent")
        yield client


def say(http: TestClient, fake: FakeWechat, question: str, openid: str = OPENID) -> str:
    """What the citizen sees for one WeChat text message: the passive reply, or (when the answer
    took longer than WeChat waits) the customer-service message that follows it."""
    before = len(fake.sent)
    r = http.post(
        "/wechat", params=signed(), content=text_message(question, openid=openid).encode()
    )
    assert r.status_code == 200, r.text
    if r.text != "success":
        reply = fields(r.text)
        assert reply["MsgType"] == "text" and reply["ToUserName"] == openid
        content: str = reply["Content"]
    else:
        deadline = time.monotonic() + 60
        while len(fake.sent) == before:
            assert time.monotonic() < deadline, "no reply and no customer-service message"
            time.sleep(0.05)
        sent = fake.sent[before]
        assert sent["touser"] == openid
        content = sent["text"]["content"]
    assert openid not in content  # an OpenID is never shown to the citizen
    return content


def rows(url: str, sql: str, **params: Any) -> list[Any]:
    with get_database(url).session() as db:
        return list(db.execute(text(sql), params).all())


def test_a_wechat_citizen_reaches_an_agent_and_gets_the_reply(
    http: TestClient, fake: tuple[FakeWechat, str], database_url: str
) -> None:
    api, _ = fake
    handed = say(http, api, "转人工")
    assert handed.count("已为您转接人工服务") == 1 and "依据" not in handed

    agent, csrf = sign_in(http, "agent1")
    queue = agent.get("/api/v1/staff/tickets").json()["tickets"]
    assert len(queue) == 1
    ticket = queue[0]
    assert (ticket["channel"], ticket["status"], ticket["reason"]) == ("wechat", "open", "human")
    assert OPENID not in json.dumps(queue)

    # The next message joins the ticket; the bot stays silent and says a person will answer.
    waiting = say(http, api, "政府采购可以采用哪些方式？")
    assert "工作人员" in waiting and "公开招标" not in waiting and "依据" not in waiting
    url = f"/api/v1/staff/tickets/{ticket['id']}"
    detail = agent.get(url).json()
    citizen = [m["text"] for m in detail["messages"] if m["role"] == "citizen"]
    assert citizen == ["转人工", "政府采购可以采用哪些方式？"]
    assert OPENID not in json.dumps(detail, ensure_ascii=False)

    claimed_before = len(api.sent)
    assert agent.post(f"{url}/claim", headers=csrf).status_code == 200
    # The citizen is told on WeChat that a person has joined (a customer-service message).
    (joined,) = api.sent[claimed_before:]
    assert joined["touser"] == OPENID and "已接入" in joined["text"]["content"]
    sent_before = len(api.sent)
    r = agent.post(f"{url}/messages", json={"text": STAFF_REPLY}, headers=csrf)
    assert r.status_code == 200, r.text
    assert r.json()["delivered"] is True and r.json()["delivery_note"] is None
    assert api.sent[sent_before:] == [
        {"touser": OPENID, "msgtype": "text", "text": {"content": STAFF_REPLY}}
    ]

    # Past the 48-hour window WeChat refuses: the reply is stored, not delivered, and says why.
    api.refuse[OPENID] = 45015
    r = agent.post(f"{url}/messages", json={"text": LATE_REPLY}, headers=csrf)
    assert r.status_code == 200, r.text
    refused = r.json()
    assert refused["delivered"] is False and "48 小时" in refused["delivery_note"]
    assert len(api.sent) == sent_before + 1
    staff = [m for m in agent.get(url).json()["messages"] if m["role"] == "staff"]
    assert [(m["text"], m["delivered"]) for m in staff] == [
        (STAFF_REPLY, True),
        (LATE_REPLY, False),
    ]
    assert "45015" in staff[1]["delivery_note"] and "48 小时" in staff[1]["delivery_note"]
    page = agent.get(f"/admin/tickets/{ticket['id']}")
    assert page.status_code == 200
    assert "渠道：微信" in page.text and LATE_REPLY in page.text
    assert "未送达：已超过微信 48 小时客服消息时限" in page.text
    assert OPENID not in page.text

    # The conversation is recorded with channel wechat; every bot turn too.
    (conversation,) = rows(database_url, "SELECT id, channel FROM conversations")
    assert conversation.channel == "wechat" and conversation.id == ticket["session_id"]
    answers = rows(database_url, "SELECT channel, type, question FROM answers ORDER BY created_at")
    assert [(a.channel, a.type) for a in answers] == [("wechat", "handoff"), ("wechat", "handoff")]
    found = agent.get("/api/v1/staff/conversations", params={"q": "政府采购可以采用"}).json()
    assert {m["channel"] for m in found["messages"]} == {"wechat"}

    # Closed: the citizen's next question is answered by the bot again.
    api.refuse.pop(OPENID)  # the citizen wrote again: the 48-hour window is open again
    closed_before = len(api.sent)
    closed = agent.post(f"{url}/close", json={"resolution": "已答复质疑期限"}, headers=csrf)
    assert closed.status_code == 200
    (ended,) = api.sent[closed_before:]
    assert ended["touser"] == OPENID and "人工服务已结束" in ended["text"]["content"]
    system = [m for m in agent.get(url).json()["messages"] if m["role"] == "system"]
    assert [m["delivered"] for m in system] == [True, True]
    again = say(http, api, "政府采购可以采用哪些方式？")
    assert "公开招标" in again


def test_a_wechat_complaint_opens_a_complaint_ticket(
    http: TestClient, fake: tuple[FakeWechat, str]
) -> None:
    reply = say(http, fake[0], "我要投诉某采购代理机构违规收费")
    assert "已为您转接人工服务" in reply
    agent, _ = sign_in(http, "agent1")
    (ticket,) = agent.get("/api/v1/staff/tickets").json()["tickets"]
    assert (ticket["channel"], ticket["reason"]) == ("wechat", "complaint")
    queue_page = agent.get("/admin").text
    assert "微信" in queue_page and "投诉举报" in queue_page


def test_wechat_questions_are_recorded_and_follow_ups_use_the_context(
    http: TestClient, fake: tuple[FakeWechat, str], database_url: str
) -> None:
    api, _ = fake
    first = say(http, api, "国库券的发行对象有哪些？")
    follow = say(http, api, "那怎么缴费？")
    stranger = say(http, api, "那怎么缴费？", openid="oStranger00000000000000001")
    assert "国库券" in first and "国库券" in follow
    assert "国库券" not in stranger

    answers = rows(
        database_url,
        "SELECT a.channel, a.question, a.type, a.sources, c.channel_key FROM answers a "
        "JOIN conversations c ON c.id = a.conversation_id ORDER BY a.created_at",
    )
    assert [a.channel for a in answers] == ["wechat"] * 3
    assert [a.question for a in answers] == [
        "国库券的发行对象有哪些？",
        "那怎么缴费？",
        "那怎么缴费？",
    ]
    mine = [a for a in answers if a.channel_key == OPENID]
    assert len(mine) == 2 and all(a.type in ("faq", "passage") for a in mine)
    conversations = rows(database_url, "SELECT channel FROM conversations")
    assert sorted(c.channel for c in conversations) == ["wechat", "wechat"]
