"""The WeChat channel through /wechat, as WeChat's servers call it: the official samples in plain,
compatible and safe mode, hostile XML, limits, de-duplication, late answers and follow-ups."""

from __future__ import annotations

import os
import time
import xml.parsers.expat
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from channels import wechat
from policyqa.server import channel_mounts
from service.answering import Answerer
from service.app import create_app
from service.config import Settings
from service.engine import load_answerer
from tests.wechat_api_server import FakeWechat, fake_wechat
from tests.wechat_helpers import (
    FIXTURES,
    VECTOR_E,
    VECTORS,
    fields,
    open_reply,
    safe_mode,
    signed,
    text_message,
    wechat_env,
)

MESSAGES = sorted((FIXTURES / "messages").glob("*.xml"))
HOSTILE = sorted((FIXTURES / "security").glob("*.xml"))
MENU = FIXTURES / "menu.yaml"
VECTORS_S1: dict[str, Any] = next(v for v in VECTORS["signature_vectors"] if v["id"] == "S1")

Client = Callable[..., TestClient]


@pytest.fixture(scope="module")
def answerer(sample_index: Path) -> Answerer:
    return load_answerer(sample_index)


@pytest.fixture
def fake() -> Iterator[tuple[FakeWechat, str]]:
    with fake_wechat() as served:
        yield served


@pytest.fixture
def client(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sample_index: Path,
    answerer: Answerer,
    fake: tuple[FakeWechat, str],
) -> Iterator[Client]:
    """``make(**env)``: the served application with these WECHAT_* variables (default: a fully
    configured channel pointing at the fake API), as ``policyqa.server`` assembles it."""
    stack = ExitStack()

    def make(**env: str) -> TestClient:
        for name in list(os.environ):
            if name.startswith("WECHAT_") or name in ("REDIS_URL", "POLICYQA_REDIS_URL"):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings(index_dir=sample_index)
        app = create_app(settings, answerer=answerer)
        for mount in channel_mounts():
            mount(app, settings)
        return stack.enter_context(TestClient(app))

    with stack:
        yield make


def configured(fake: tuple[FakeWechat, str], tmp_path: Path, **extra: str) -> dict[str, str]:
    return wechat_env(fake[1], tmp_path / "state.sqlite", WECHAT_MENU_FILE=str(MENU), **extra)


def expected_reply(sample: Path, answerer: Answerer) -> str | None:
    """What the citizen should get for each official sample (None: ``success``)."""
    message = fields(sample.read_text(encoding="utf-8"))
    kind = message["MsgType"].strip()
    event = (message.get("Event") or "").strip()
    if kind == "text":
        return answerer.ask(message["Content"]).answer
    if kind == "voice":
        return answerer.ask(message["Recognition"]).answer
    if kind == "event":
        if event == "subscribe":
            return wechat.WELCOME
        if event == "CLICK":
            return "常见问题分为：预算与信息公开、政府采购、税收、会计、社会保险、国有资产与审计。"
        return None
    return wechat.TEXT_ONLY


# ---- the handshake ----------------------------------------------------------------------------


def test_handshake_official_example(client: Client, fake: Any, tmp_path: Path) -> None:
    vector = VECTORS_S1
    http = client(**configured(fake, tmp_path, WECHAT_MAX_CLOCK_SKEW_S="0"))
    params = {k: vector[k] for k in ("signature", "timestamp", "nonce", "echostr")}
    r = http.get("/wechat", params=params)
    assert r.status_code == 200
    assert r.text == vector["expected_response_body"]
    assert r.headers["content-type"].startswith("text/plain")


def test_handshake_checks_signature_and_freshness(
    client: Client, fake: Any, tmp_path: Path
) -> None:
    http = client(**configured(fake, tmp_path))
    fresh = signed(echostr="8842157412385791")
    assert http.get("/wechat", params=fresh).text == "8842157412385791"
    stale = {k: VECTORS_S1[k] for k in ("signature", "timestamp", "nonce", "echostr")}
    r = http.get("/wechat", params=stale)  # the official example is from 2024: too old now
    assert r.status_code == 403 and "时间戳" in r.json()["detail"]
    forged = {**fresh, "signature": "0" * 40}
    r = http.get("/wechat", params=forged)
    assert r.status_code == 403 and "签名" in r.json()["detail"]
    r = http.get("/wechat", params={k: v for k, v in fresh.items() if k != "signature"})
    assert r.status_code == 403 and "signature" in r.json()["detail"]


# ---- every inbound message type ------------------------------------------------------------------


@pytest.mark.parametrize("sample", MESSAGES, ids=[p.stem for p in MESSAGES])
@pytest.mark.parametrize("mode", ["plain", "safe"])
def test_every_sample_message_gets_the_right_reply(
    client: Client, fake: Any, tmp_path: Path, answerer: Answerer, sample: Path, mode: str
) -> None:
    http = client(**configured(fake, tmp_path))
    xml = sample.read_text(encoding="utf-8")
    if mode == "plain":
        r = http.post("/wechat", params=signed(), content=xml.encode())
    else:
        params, body = safe_mode(xml)
        r = http.post("/wechat", params=params, content=body.encode())
    assert r.status_code == 200, r.text
    expected = expected_reply(sample, answerer)
    if expected is None:
        assert r.text == "success"
        return
    reply = fields(r.text) if mode == "plain" else open_reply(r.text)
    message = fields(xml)
    assert reply["MsgType"] == "text"
    assert reply["ToUserName"] == message["FromUserName"].strip()
    assert reply["FromUserName"] == message["ToUserName"].strip()
    assert expected in reply["Content"]
    assert len(reply["Content"].encode()) <= 2048
    assert fake[0].calls == []  # answered in time: nothing sent through the API


def test_compatible_mode_uses_the_encrypted_message(
    client: Client, fake: Any, tmp_path: Path, answerer: Answerer
) -> None:
    """Compatible mode carries the plaintext and the ciphertext; the signed ciphertext counts."""
    http = client(**configured(fake, tmp_path))
    inner = text_message("国库券的发行对象有哪些？", openid="oCompat1")
    params, envelope = safe_mode(inner)
    encrypted = fields(envelope)["Encrypt"]
    body = text_message("今天天气怎么样", openid="oCompat1").replace(
        "</xml>", f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
    )
    r = http.post("/wechat", params=params, content=body.encode())
    assert r.status_code == 200
    reply = open_reply(r.text)
    assert answerer.ask("国库券的发行对象有哪些？").answer in reply["Content"]
    assert "国库券" in reply["Content"]


# ---- the crypto vectors through /wechat ------------------------------------------------------------


def test_official_encrypted_request_replays(client: Client, fake: Any, tmp_path: Path) -> None:
    inputs = VECTOR_E["inputs"]
    params = {
        "signature": inputs["signature"],
        "timestamp": inputs["timestamp"],
        "nonce": inputs["nonce"],
        "openid": "o9AgO5Kd5ggOC-bXrbNODIiE3bGY",
        "encrypt_type": "aes",
        "msg_signature": inputs["msg_signature"],
    }
    body = (FIXTURES / inputs["body_file"]).read_bytes()
    http = client(**configured(fake, tmp_path, WECHAT_MAX_CLOCK_SKEW_S="0"))
    r = http.post("/wechat", params=params, content=body)
    assert (r.status_code, r.text) == (200, "success")  # its debug_demo event needs no reply
    tampered = {**params, "msg_signature": "6c12a4205838198b8fa631b3220723bb07f1015d"}
    r = http.post("/wechat", params=tampered, content=body)
    assert r.status_code == 403 and "msg_signature" in r.json()["detail"]

    fresh = client(**configured(fake, tmp_path / "again"))  # default window: 300 s
    r = fresh.post("/wechat", params=params, content=body)
    assert r.status_code == 403 and "时间戳" in r.json()["detail"]


def test_encrypted_reply_verifies_and_is_fresh(
    client: Client, fake: Any, tmp_path: Path, answerer: Answerer
) -> None:
    http = client(**configured(fake, tmp_path))
    envelopes = []
    for n in range(2):
        params, body = safe_mode(text_message("政府采购可以采用哪些方式？", openid=f"oSafe{n}"))
        r = http.post("/wechat", params=params, content=body.encode())
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/xml")
        envelope = fields(r.text)
        assert abs(int(envelope["TimeStamp"]) - time.time()) < 60
        reply = open_reply(r.text)  # the signature verifies with the token; the key decrypts
        assert reply["ToUserName"] == f"oSafe{n}"
        assert answerer.ask("政府采购可以采用哪些方式？").answer in reply["Content"]
        envelopes.append(envelope)
    assert envelopes[0]["Nonce"] != envelopes[1]["Nonce"]
    assert envelopes[0]["Encrypt"] != envelopes[1]["Encrypt"]


def test_wrong_key_or_appid_is_refused(client: Client, fake: Any, tmp_path: Path) -> None:
    http = client(**configured(fake, tmp_path))
    params, body = safe_mode(text_message("你好"), aes_key="B" * 43)
    r = http.post("/wechat", params=params, content=body.encode())
    assert r.status_code == 400 and "解密" in r.json()["detail"]
    params, body = safe_mode(text_message("你好"), appid="wx0000000000000000")
    r = http.post("/wechat", params=params, content=body.encode())
    assert r.status_code == 403 and "AppID" in r.json()["detail"]


# ---- what WeChat and the internet may send ------------------------------------------------------


@pytest.fixture
def parsers(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every XML parser created (xmltodict and wechatpy parse with expat)."""
    created: list[int] = []
    real = xml.parsers.expat.ParserCreate

    def counting(*args: Any, **kwargs: Any) -> Any:
        created.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(xml.parsers.expat, "ParserCreate", counting)
    return created


@pytest.mark.parametrize("sample", HOSTILE, ids=[p.stem for p in HOSTILE])
def test_hostile_xml_is_refused_unparsed(
    client: Client, fake: Any, tmp_path: Path, parsers: list[int], sample: Path
) -> None:
    http = client(**configured(fake, tmp_path))
    params = signed()
    if "encrypted" in sample.stem:
        params.update(encrypt_type="aes", msg_signature="0" * 40)
    r = http.post("/wechat", params=params, content=sample.read_bytes())
    assert r.status_code == 400
    assert "DOCTYPE" in r.json()["detail"]
    assert parsers == []
    assert fake[0].calls == []


@pytest.mark.parametrize("sample", HOSTILE[:3], ids=[p.stem for p in HOSTILE[:3]])
def test_hostile_xml_inside_the_encrypted_payload_is_refused(
    client: Client, fake: Any, tmp_path: Path, parsers: list[int], sample: Path
) -> None:
    http = client(**configured(fake, tmp_path))
    params, body = safe_mode(sample.read_text(encoding="utf-8"))
    r = http.post("/wechat", params=params, content=body.encode())
    assert r.status_code == 400 and "DOCTYPE" in r.json()["detail"]
    assert len(parsers) == 1  # the envelope only; the decrypted payload never reached a parser
    assert fake[0].calls == []


def test_citizen_text_with_markup_inside_cdata_is_answered(
    client: Client, fake: Any, tmp_path: Path
) -> None:
    http = client(**configured(fake, tmp_path))
    r = http.post("/wechat", params=signed(), content=text_message("<!DOCTYPE 是什么").encode())
    assert r.status_code == 200 and fields(r.text)["MsgType"] == "text"


def test_body_over_64_kb_is_refused(
    client: Client, fake: Any, tmp_path: Path, parsers: list[int]
) -> None:
    http = client(**configured(fake, tmp_path))
    big = text_message("税" * 22_000).encode()  # 66 KB of UTF-8
    assert len(big) > 64 * 1024
    r = http.post("/wechat", params=signed(), content=big)
    assert r.status_code == 413 and "64 KB" in r.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it arrives
        for start in range(0, len(big), 8192):
            yield big[start : start + 8192]

    r = http.post("/wechat", params=signed(), content=chunks())
    assert r.status_code == 413
    assert parsers == [] and fake[0].calls == []


def test_stale_or_unsigned_messages_are_refused(
    client: Client, fake: Any, tmp_path: Path, parsers: list[int]
) -> None:
    http = client(**configured(fake, tmp_path))
    body = text_message("政府采购可以采用哪些方式？").encode()
    r = http.post("/wechat", params=signed(timestamp=int(time.time()) - 301), content=body)
    assert r.status_code == 403 and "300 秒" in r.json()["detail"]
    r = http.post("/wechat", params=signed(token="wrongtoken"), content=body)
    assert r.status_code == 403 and "签名" in r.json()["detail"]
    r = http.post("/wechat", params={"timestamp": "x", "nonce": "1"}, content=body)
    assert r.status_code == 400
    assert parsers == []
    assert http.post("/wechat", params=signed(), content=b"<xml><a>").status_code == 400
    assert http.post("/wechat", params=signed(), content=b"\xff\xfe").status_code == 400
    r = http.post("/wechat", params=signed(), content=body)  # the service is unharmed
    assert r.status_code == 200 and fields(r.text)["MsgType"] == "text"


# ---- settings ------------------------------------------------------------------------------------


def test_without_settings_the_channel_is_off_and_the_service_runs(client: Client) -> None:
    http = client()
    r = http.post("/wechat", params=signed(), content=text_message("你好").encode())
    assert r.status_code == 503 and "未启用" in r.json()["detail"]
    assert http.get("/wechat", params=signed(echostr="1")).status_code == 503
    assert http.post("/api/v1/ask", json={"question": "你好"}).status_code == 200


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("WECHAT_AES_KEY", "too-short", "WECHAT_AES_KEY"),
        ("WECHAT_APPID", "12345", "WECHAT_APPID"),
        ("WECHAT_APPSECRET", "", "WECHAT_APPSECRET"),
        ("WECHAT_MAX_CLOCK_SKEW_S", "五分钟", "WECHAT_MAX_CLOCK_SKEW_S"),
        ("WECHAT_ANSWER_BUDGET_S", "6", "WECHAT_ANSWER_BUDGET_S"),
        ("WECHAT_API_BASE", "api.weixin.qq.com", "WECHAT_API_BASE"),
        ("WECHAT_MENU_FILE", "/nonexistent/menu.yaml", "菜单文件 /nonexistent/menu.yaml"),
        ("REDIS_URL", "redis://127.0.0.1:1/0", "Redis"),
    ],
)
def test_malformed_settings_stop_only_the_channel(
    client: Client, fake: Any, tmp_path: Path, variable: str, value: str, says: str
) -> None:
    env = configured(fake, tmp_path)
    env[variable] = value
    http = client(**env)
    r = http.post("/wechat", params=signed(), content=text_message("你好").encode())
    assert r.status_code == 503
    detail = r.json()["detail"]
    assert says in detail and "已停止" in detail
    assert "0123456789abcdef" not in detail  # the AppSecret is never echoed
    assert http.post("/api/v1/ask", json={"question": "你好"}).status_code == 200
    assert "wechat" not in http.app.state.deliverers  # type: ignore[attr-defined]


def test_plain_mode_works_without_an_aes_key(client: Client, fake: Any, tmp_path: Path) -> None:
    env = configured(fake, tmp_path)
    del env["WECHAT_AES_KEY"]
    http = client(**env)
    r = http.post("/wechat", params=signed(), content=text_message("你好").encode())
    assert r.status_code == 200 and fields(r.text)["MsgType"] == "text"
    params, body = safe_mode(text_message("你好"))
    r = http.post("/wechat", params=params, content=body.encode())
    assert r.status_code == 400 and "WECHAT_AES_KEY" in r.json()["detail"]


# ---- once, in time, or later ---------------------------------------------------------------------


def test_a_retried_message_is_answered_once(client: Client, fake: Any, tmp_path: Path) -> None:
    http = client(**configured(fake, tmp_path))
    body = text_message("政府采购可以采用哪些方式？", msg_id=777001).encode()
    first = http.post("/wechat", params=signed(), content=body)
    assert fields(first.text)["MsgType"] == "text"
    for _ in range(3):  # WeChat's retries, freshly signed
        assert http.post("/wechat", params=signed(), content=body).text == "success"
    subscribe = (FIXTURES / "messages" / "event_subscribe.xml").read_bytes()
    assert (
        wechat.WELCOME
        in fields(http.post("/wechat", params=signed(), content=subscribe).text)["Content"]
    )
    assert http.post("/wechat", params=signed(), content=subscribe).text == "success"
    restarted = client(**configured(fake, tmp_path))  # the marks are in the state file
    assert restarted.post("/wechat", params=signed(), content=body).text == "success"


def test_a_slow_answer_goes_out_as_a_customer_service_message(
    client: Client, fake: Any, tmp_path: Path, answerer: Answerer
) -> None:
    api, _ = fake
    http = client(**configured(fake, tmp_path, WECHAT_ANSWER_BUDGET_S="0.001"))
    body = text_message("会计账簿要保存多少年", openid="oSlow0001").encode()
    r = http.post("/wechat", params=signed(), content=body)
    assert (r.status_code, r.text) == (200, "success")
    deadline = time.monotonic() + 30
    while not api.sent:
        assert time.monotonic() < deadline, api.calls
        time.sleep(0.05)
    (message,) = api.sent
    assert message["touser"] == "oSlow0001" and message["msgtype"] == "text"
    assert answerer.ask("会计账簿要保存多少年").answer in message["text"]["content"]
    assert "会计账簿".encode() in api.raw_bodies[-1]  # raw UTF-8, not \\u escapes
    assert api.count("/cgi-bin/token") == 1


def test_follow_up_questions_use_the_citizens_own_context(
    client: Client, fake: Any, tmp_path: Path
) -> None:
    http = client(**configured(fake, tmp_path))

    def ask(question: str, openid: str) -> str:
        r = http.post(
            "/wechat", params=signed(), content=text_message(question, openid=openid).encode()
        )
        content: str = fields(r.text)["Content"]
        assert "oFollow" not in content  # an OpenID is never shown
        return content

    ask("国库券的发行对象有哪些？", "oFollowA")
    follow = ask("那怎么缴费？", "oFollowA")
    stranger = ask("那怎么缴费？", "oFollowB")
    assert "国库券" in follow
    assert "国库券" not in stranger


def test_a_clarification_lists_numbered_options_and_a_digit_answers_one(
    client: Client, fake: Any, tmp_path: Path, answerer: Answerer
) -> None:
    http = client(**configured(fake, tmp_path))

    def ask(question: str, openid: str = "oClarify") -> str:
        r = http.post(
            "/wechat", params=signed(), content=text_message(question, openid=openid).encode()
        )
        content: str = fields(r.text)["Content"]
        return content

    asked = answerer.ask("印花税怎么交")
    assert asked.type == "clarify"
    listed = ask("印花税怎么交")
    assert listed.startswith("您想问的是以下哪一个？请回复序号")
    for n, option in enumerate(asked.related, 1):
        assert f"\n{n}. {option}" in listed
    assert "您可以这样问" not in listed and "依据：" not in listed  # the options are not repeated
    second = next(e for e in answerer.index.faqs.values() if e.question == asked.related[1])
    assert ask("2").startswith(second.answer.strip()[:40])
    # Another citizen's "2" is an ordinary question: no one else's options.
    assert not ask("2", "oClarifyOther").startswith(second.answer.strip()[:40])


def test_a_declines_suggestions_are_numbered_and_a_digit_answers_one(
    client: Client, fake: Any, tmp_path: Path, answerer: Answerer
) -> None:
    http = client(**configured(fake, tmp_path))

    def ask(question: str) -> str:
        r = http.post(
            "/wechat", params=signed(), content=text_message(question, openid="oSuggest").encode()
        )
        content: str = fields(r.text)["Content"]
        return content

    declined = answerer.ask("发票丢了")
    assert declined.type == "none" and len(declined.related) >= 2
    listed = ask("发票丢了")
    assert "您可以这样问（回复序号即可）：" in listed
    for n, question in enumerate(declined.related, 1):
        assert f"\n{n}. {question}" in listed
    second = next(e for e in answerer.index.faqs.values() if e.question == declined.related[1])
    assert ask("2").startswith(second.answer.strip()[:40])


def test_asking_for_a_person_and_the_registered_deliverer(
    client: Client, fake: Any, tmp_path: Path
) -> None:
    http = client(**configured(fake, tmp_path))
    r = http.post(
        "/wechat", params=signed(), content=text_message("转人工", openid="oHuman01").encode()
    )
    assert "人工" in fields(r.text)["Content"]
    deliverer = http.app.state.deliverers["wechat"]  # type: ignore[attr-defined]
    assert deliverer.name == "wechat"
    result = http.portal.call(  # type: ignore[union-attr]
        lambda: deliverer.deliver(
            session_key="oHuman01", text="您好，我是财政局工作人员，已收到您的问题。"
        )
    )
    assert result.delivered
    assert fake[0].sent[-1]["touser"] == "oHuman01"
