"""The staff pages in a real browser (Debian's Chromium, headless): an agent signs in with the
keyboard, claims a handed-over conversation and replies; the citizen reads the reply through the
messages API. Screenshots of the queue and the ticket are kept in tests/artifacts/."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.conftest import ROOT, run_cli
from tests.test_service_cli import serving

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
PASSWORD = "浏览器测试用的密码-9"


@pytest.fixture
def server(sample_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    assert run_cli("db", "upgrade", "--database-url", url).returncode == 0
    exe = Path(sys.executable).with_name("policyqa")
    created = subprocess.run(
        [
            str(exe),
            "admin",
            "create-user",
            "客服小李",
            "--role",
            "agent",
            "--password-stdin",
            "--database-url",
            url,
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ),
    )
    assert created.returncode == 0, created.stderr
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("POLICYQA_COOKIE_SECURE", "false")  # plain http on loopback
    with serving(sample_index, tmp_path / "serve.log") as base:
        yield base


def test_agent_signs_in_claims_and_replies(server: str) -> None:
    asked = httpx.post(f"{server}/api/v1/ask", json={"question": "我要转人工"}, timeout=30).json()
    session = asked["session_id"]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(locale="zh-CN")
        page.goto(f"{server}/admin")  # not signed in: sent to the sign-in page
        expect(page.get_by_role("heading", name="工作人员登录")).to_be_visible()
        expect(page.get_by_label("用户名")).to_be_focused()
        page.keyboard.type("客服小李")
        page.keyboard.press("Tab")
        expect(page.get_by_label("密码")).to_be_focused()
        page.keyboard.type(PASSWORD)
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="工单队列")).to_be_visible()
        expect(page.get_by_role("cell", name="网站")).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "admin-queue.png"), full_page=True)

        claim = page.get_by_role("button", name="认领工单")
        claim.focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="处理中")).to_be_visible()
        expect(page.get_by_role("list", name="会话记录")).to_contain_text("我要转人工")
        page.get_by_label("回复市民").fill("您好，我是财政局客服小李，请问有什么可以帮您？")
        page.get_by_role("button", name="发送回复").click()
        expect(page.get_by_role("list", name="会话记录")).to_contain_text("客服小李，请问")
        page.screenshot(path=str(ARTIFACTS / "admin-ticket.png"), full_page=True)
        browser.close()
    messages = httpx.get(f"{server}/api/v1/sessions/{session}/messages", timeout=30).json()
    staff = [m for m in messages["messages"] if m["role"] == "staff"]
    assert [m["text"] for m in staff] == ["您好，我是财政局客服小李，请问有什么可以帮您？"]
    assert (ARTIFACTS / "admin-queue.png").stat().st_size > 5000
    assert (ARTIFACTS / "admin-ticket.png").stat().st_size > 5000
