"""The WeChat channel in real service processes (``policyqa serve``) and the operator commands
``policyqa wechat menu`` and ``policyqa wechat check``; outbound calls go to a local server that
speaks the WeChat API's JSON."""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.conftest import run_cli
from tests.served import serve
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

MENU = FIXTURES / "menu.yaml"


@contextmanager
def serving(index: Path, log_path: Path, env: dict[str, str], *extra: str) -> Iterator[str]:
    """``policyqa serve`` with exactly these variables (plus PATH, HOME and PYTHONPATH); yields
    its base URL once every worker has loaded the index."""
    with serve(index, log_path, *extra, env=env, only_env=True) as served:
        yield served.base


@pytest.mark.parametrize("state", ["sqlite", "redis"])
def test_a_retry_storm_across_two_processes_is_answered_once(
    sample_index: Path, tmp_path: Path, state: str
) -> None:
    """WeChat retries; proxies and impatient networks multiply it: 20 copies of one MsgId reach
    two worker processes at once. Exactly one of them is answered."""
    with fake_wechat() as (api, base):
        env = wechat_env(base, tmp_path / "wechat-state.sqlite")
        if state == "redis":  # the marks live in Redis (kept a day): a MsgId never sent before
            env["REDIS_URL"] = "redis://127.0.0.1:6379/0"
        msg_id = secrets.randbelow(10**15)
        with serving(sample_index, tmp_path / "serve.log", env, "--workers", "2") as url:
            body = text_message("政府采购可以采用哪些方式？", openid="oStorm001", msg_id=msg_id)
            start = threading.Barrier(20)

            def post(_: int) -> tuple[str, int, str]:
                params = signed()
                start.wait()
                r = httpx.post(f"{url}/wechat", params=params, content=body.encode(), timeout=60)
                return r.headers["X-Policyqa-Worker"], r.status_code, r.text

            with ThreadPoolExecutor(max_workers=20) as pool:
                results = list(pool.map(post, range(20)))
            time.sleep(1)  # a late answer would be sent by now (the budget is 4 s)
    assert {status for _, status, _ in results} == {200}
    answers = [text for _, _, text in results if text != "success"]
    assert len(answers) + len(api.sent) == 1, (answers, api.sent)
    if answers:
        assert "公开招标" in fields(answers[0])["Content"]
    assert len({worker for worker, _, _ in results}) == 2, "both processes took part"
    if state == "redis":
        assert not (tmp_path / "wechat-state.sqlite").exists()


def test_started_with_only_wechat_variables_it_replays_official_samples(
    sample_index: Path, tmp_path: Path
) -> None:
    with fake_wechat() as (api, base):
        env = wechat_env(base, tmp_path / "wechat-state.sqlite", WECHAT_MAX_CLOCK_SKEW_S="0")
        with serving(sample_index, tmp_path / "serve.log", env) as url:
            s1 = next(v for v in VECTORS["signature_vectors"] if v["id"] == "S1")
            params = {k: s1[k] for k in ("signature", "timestamp", "nonce", "echostr")}
            r = httpx.get(f"{url}/wechat", params=params, timeout=30)
            assert (r.status_code, r.text) == (200, s1["expected_response_body"])

            inputs = VECTOR_E["inputs"]
            query = inputs["url"].split("?", 1)[1]
            body = (FIXTURES / inputs["body_file"]).read_bytes()
            r = httpx.post(f"{url}/wechat?{query}", content=body, timeout=30)
            assert (r.status_code, r.text) == (200, "success")

            question = "国库券的发行对象有哪些？"
            params, envelope = safe_mode(text_message(question, openid="oReplay01"))
            r = httpx.post(f"{url}/wechat", params=params, content=envelope.encode(), timeout=30)
            assert r.status_code == 200
            reply = open_reply(r.text)
            assert reply["ToUserName"] == "oReplay01" and "国库券" in reply["Content"]
    assert api.calls == []


def test_policyqa_wechat_menu_publishes_the_menu(tmp_path: Path) -> None:
    with fake_wechat() as (api, base):
        env = wechat_env(base, tmp_path / "state.sqlite")
        result = run_cli("wechat", "menu", "--file", str(MENU), env=env)
        assert result.returncode == 0, result.stderr
        assert "自定义菜单已发布" in result.stdout and "WECHAT_MENU_FILE" in result.stdout
        assert api.menus == [
            {
                "button": [
                    {
                        "name": "政策咨询",
                        "sub_button": [
                            {"type": "click", "name": "常见问题分类", "key": "EVENTKEY"},
                            {"type": "click", "name": "政府采购", "key": "FAQ_PROCUREMENT"},
                        ],
                    },
                    {"type": "click", "name": "转人工", "key": "HUMAN"},
                    {"type": "view", "name": "局网站", "url": "https://czj.taian.gov.cn/"},
                ]
            }
        ]
        assert "政策咨询".encode() in api.raw_bodies[-1]

        bad = tmp_path / "bad.yaml"
        bad.write_text(
            MENU.read_text(encoding="utf-8").replace("name: 政策咨询", "name: 政策咨询与办事指南"),
            encoding="utf-8",
        )
        calls = len(api.calls)
        result = run_cli("wechat", "menu", "--file", str(bad), env=env)
        assert result.returncode == 2
        assert "第 1 个一级菜单" in result.stderr and "16 字节" in result.stderr
        assert len(api.calls) == calls

        api.always = 48001
        result = run_cli("wechat", "menu", "--file", str(MENU), env=env)
        assert result.returncode == 1 and "48001" in result.stderr


@pytest.mark.parametrize(
    ("scenario", "code", "says"),
    [
        ("ok", 0, "结论：设置正确"),
        ("wrong-secret", 1, "AppSecret 无效"),
        ("ip-blocked", 1, "IP 白名单"),
        ("missing", 1, "WECHAT_APPSECRET 未设置"),
    ],
)
def test_policyqa_wechat_check_reports_in_chinese(
    tmp_path: Path, scenario: str, code: int, says: str
) -> None:
    fake = FakeWechat(ip_blocked=scenario == "ip-blocked")
    if scenario == "wrong-secret":
        fake.secret = "f" * 32
    with fake_wechat(fake) as (_, base):
        env = wechat_env(base, tmp_path / "state.sqlite", WECHAT_MENU_FILE=str(MENU))
        if scenario == "missing":
            env.pop("WECHAT_APPSECRET")
        result = run_cli("wechat", "check", env=env)
    assert result.returncode == code, result.stdout + result.stderr
    assert says in result.stdout + result.stderr
