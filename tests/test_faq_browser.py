"""FAQ curation in a real browser (Debian's Chromium, headless), against ``policyqa serve``: an
editor opens the draft form prefilled from a link (as the analytics' "write an FAQ for this"
does), completes and submits it; a reviewer signs in, sees the diff, approves; the public API
then answers the question with it. Screenshots of the curation pages: tests/artifacts/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright

from tests.curation_served import curation_server, sign_in
from tests.test_admin_browser import ARTIFACTS, CHROMIUM

QUESTION = "政府采购电子卖场的供应商入驻申请怎么办理？"
MARKER = "入驻申请提交后五个工作日内完成审核"


@pytest.fixture
def server(sample_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with curation_server(sample_index, tmp_path, monkeypatch) as base:
        yield base


def test_editor_writes_reviewer_approves_citizen_is_answered(server: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    before = httpx.post(f"{server}/api/v1/ask", json={"question": QUESTION}, timeout=30).json()
    assert MARKER not in before["answer"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(locale="zh-CN")
        sign_in(page, server, "编辑小张")
        answer = f"供应商在本市政府采购电子卖场网站注册并提交材料，{MARKER}。"
        page.goto(f"{server}/admin/faq/new?" + urlencode({"question": QUESTION, "answer": answer}))
        expect(page.get_by_label("标准问题")).to_have_value(QUESTION)
        expect(page.get_by_label("答案")).to_have_value(answer)
        page.get_by_role("textbox", name="编号（").fill("cg-dianzimaichang")
        page.get_by_label("相似问法").fill("电子卖场怎么入驻\n网上商城供应商入驻")
        page.get_by_label("分类").select_option("政府采购")
        page.get_by_label("依据").fill("政府采购法-2014 第九百条")
        page.get_by_role("button", name="保存草稿").click()
        expect(page.get_by_role("alert")).to_contain_text("中没有“第九百条”")  # refused
        page.get_by_label("依据").fill("政府采购法-2014 第二十六条")
        page.screenshot(path=str(ARTIFACTS / "faq-edit.png"), full_page=True)
        page.get_by_role("button", name="保存草稿").click()
        expect(page.get_by_role("heading", name="问答 cg-dianzimaichang")).to_be_visible()
        page.get_by_role("button", name="提交审核").click()
        expect(page.get_by_text("待处理：第 1 版（待审核）")).to_be_visible()
        page.get_by_role("button", name="退出").click()

        sign_in(page, server, "审核员小王")
        page.get_by_label("状态").select_option("in_review")
        page.get_by_role("button", name="查找").click()
        page.screenshot(path=str(ARTIFACTS / "faq-list.png"), full_page=True)
        page.get_by_role("link", name="审核").click()
        expect(page.get_by_role("row", name="答案（有变化）")).to_contain_text(MARKER)
        page.screenshot(path=str(ARTIFACTS / "faq-review.png"), full_page=True)
        page.get_by_role("button", name="审核通过并发布").click()
        expect(page.get_by_text("对外提供：第 1 版")).to_be_visible()
        approved = time.monotonic()
        page.screenshot(path=str(ARTIFACTS / "faq-history.png"), full_page=True)
        browser.close()

    while True:
        asked = httpx.post(f"{server}/api/v1/ask", json={"question": QUESTION}, timeout=30).json()
        if MARKER in asked["answer"]:
            break
        assert time.monotonic() - approved < 10, "the published FAQ was not answered within 10 s"
        time.sleep(0.2)
    assert asked["type"] == "faq"
    for name in ("faq-edit", "faq-list", "faq-review", "faq-history"):
        assert (ARTIFACTS / f"{name}.png").stat().st_size > 5000
