"""Document management in a real browser (Debian's Chromium, headless), against ``policyqa
serve``: an editor uploads a policy (.docx) and its interpretation (.md) in one form — first
without the disclosure attribute, which is refused next to the field — so both go into one
review; a reviewer sees the diff and approves; the public API then answers from the new policy
with its 发文字号. The editor writes an FAQ draft citing the policy, then marks the policy 已废止
and sees the dependent FAQ and interpretation listed before saving; finally withholds it (不予公开,
a reason required) and the public API at once no longer cites it. Screenshots: tests/artifacts/."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from tests.curation_served import curation_server
from tests.curation_served import sign_in as sign_in_staff
from tests.document_files import (
    INTERPRETATION_ID,
    POLICY_ARTICLE,
    POLICY_ID,
    POLICY_NO,
    POLICY_TITLE,
    QUESTION,
    interpretation_md,
    policy_docx,
)
from tests.test_admin_browser import ARTIFACTS, CHROMIUM

INTERPRETATION_TITLE = "《关于做好新能源汽车购置补贴资金申领工作的通知》政策解读"
FAQ_ID = "xny-butie-qixian"
PUBLISHED_WITHIN_SECONDS = 300  # the full incremental build on the shared 2-core machine


@pytest.fixture
def server(sample_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    with curation_server(sample_index, tmp_path, monkeypatch) as base:
        yield base


def sign_in(page: Page, base: str, name: str) -> None:
    """Signs in and opens the document pages."""
    sign_in_staff(page, base, name)
    page.get_by_role("navigation").get_by_role("link", name="文件管理").click()
    expect(page.get_by_role("heading", name="文件管理", exact=True)).to_be_visible()


def ask(base: str) -> dict[str, Any]:
    response = httpx.post(f"{base}/api/v1/ask", json={"question": QUESTION}, timeout=30)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def cites_policy(answer: dict[str, Any]) -> bool:
    return any(s["doc_no"] == POLICY_NO for s in answer["sources"])


def fill_upload_form(page: Page, files: Path, *, disclosure: bool) -> None:
    policy = page.get_by_role("group", name="政策文件")
    policy.get_by_label("文件（必填）").set_input_files(str(files / "新能源汽车购置补贴通知.docx"))
    policy.get_by_label("编号（可空").fill(POLICY_ID)
    policy.get_by_label("标题（必填）").fill(POLICY_TITLE)
    policy.get_by_label("发文字号").fill(POLICY_NO)
    policy.get_by_label("发文机关").fill("泰安市财政局")
    policy.get_by_label("发布日期").fill("2026-03-01")
    if disclosure:
        policy.get_by_label("公开属性（必填）").select_option("主动公开")
    interpretation = page.get_by_role("group", name="政策解读（可选，与文件一同审核）")
    interpretation.get_by_label("解读文件").set_input_files(str(files / "政策解读.md"))
    interpretation.get_by_label("解读编号（可空）").fill(INTERPRETATION_ID)
    interpretation.get_by_label("标题（必填）").fill(INTERPRETATION_TITLE)
    interpretation.get_by_label("公开属性（必填）").select_option("主动公开")


def test_upload_review_answer_and_repeal_with_dependents(server: str, tmp_path: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    files = tmp_path / "files"
    files.mkdir()
    (files / "新能源汽车购置补贴通知.docx").write_bytes(policy_docx())
    (files / "政策解读.md").write_bytes(interpretation_md())
    assert not cites_policy(ask(server))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_page(locale="zh-CN")
        sign_in(page, server, "编辑小张")
        page.get_by_role("link", name="上传文件").click()
        fill_upload_form(page, files, disclosure=False)
        page.get_by_role("button", name="上传").click()
        expect(page.get_by_role("alert")).to_contain_text("公开属性 disclosure：必须填写")
        policy = page.get_by_role("group", name="政策文件")
        expect(policy.locator("#disclosure-error")).to_contain_text("未经保密审查")
        expect(policy.get_by_label("公开属性（必填）")).to_have_attribute("aria-invalid", "true")
        expect(policy.get_by_label("发文字号")).to_have_value(POLICY_NO)  # the input is kept
        page.screenshot(path=str(ARTIFACTS / "document-upload-error.png"), full_page=True)
        fill_upload_form(page, files, disclosure=True)  # a browser never keeps chosen files
        expect(page.get_by_label("保存后立即提交审核")).to_be_checked()
        page.screenshot(path=str(ARTIFACTS / "document-upload.png"), full_page=True)
        page.get_by_role("button", name="上传").click()
        expect(page.get_by_role("heading", name=POLICY_TITLE)).to_be_visible()
        expect(page.get_by_text("待处理：第 1 版（待审核）")).to_be_visible()
        expect(page.get_by_role("list", name="依赖本文件的内容")).to_contain_text(
            INTERPRETATION_TITLE
        )
        page.get_by_role("button", name="退出").click()

        sign_in(page, server, "审核员小王")
        page.screenshot(path=str(ARTIFACTS / "document-list.png"), full_page=True)
        page.get_by_role("link", name=re.compile(r"^审核单 \d+$")).click()
        expect(
            page.get_by_role("heading", name=re.compile("文件审核单 .*（待审核）"))
        ).to_be_visible()
        expect(page.get_by_text("本审核单包含 2 个版本")).to_be_visible()
        first = page.get_by_role("region", name=POLICY_TITLE, exact=True)
        expect(first.get_by_role("row", name=re.compile("发文字号（有变化）"))).to_contain_text(
            POLICY_NO
        )
        expect(first.locator("pre")).to_contain_text(POLICY_ARTICLE)
        page.screenshot(path=str(ARTIFACTS / "document-review.png"), full_page=True)
        page.get_by_role("button", name="审核通过并发布").click()
        expect(page.get_by_role("heading", name=re.compile("（已发布）"))).to_be_visible()
        approved = time.monotonic()
        page.get_by_role("button", name="退出").click()

        while not cites_policy(answer := ask(server)):
            waited = time.monotonic() - approved
            assert waited < PUBLISHED_WITHIN_SECONDS, "the published policy was not answered"
            time.sleep(1)
        served_after = time.monotonic() - approved
        source = next(s for s in answer["sources"] if s["doc_no"] == POLICY_NO)
        assert source["status"] == "现行有效" and source["title"] == POLICY_TITLE

        sign_in(page, server, "编辑小张")
        page.goto(f"{server}/admin/faq/new")
        page.get_by_role("textbox", name="编号（").fill(FAQ_ID)
        page.get_by_label("标准问题").fill("新能源汽车购置补贴的申领期限是多久？")
        page.get_by_label("答案").fill("自购车发票开具之日起九十日内申领。")
        page.get_by_label("分类").select_option("其他")
        page.get_by_label("依据").fill(f"{POLICY_ID} 第三条")
        page.get_by_role("button", name="保存草稿").click()
        expect(page.get_by_role("heading", name=f"问答 {FAQ_ID}")).to_be_visible()

        page.get_by_role("navigation").get_by_role("link", name="文件管理").click()
        page.get_by_label("搜索（标题或发文字号）").fill(POLICY_NO)
        page.get_by_role("button", name="查找").click()
        page.get_by_role("link", name=POLICY_TITLE, exact=True).click()
        expect(page.get_by_text("上传（数据库） · 对外提供")).to_be_visible()
        affected = page.get_by_role("list", name="受影响的内容")
        expect(affected).to_contain_text(f"问答 {FAQ_ID}")
        expect(affected).to_contain_text(f"解读 {INTERPRETATION_TITLE}")
        page.get_by_label("新的效力").select_option("已废止")
        page.screenshot(path=str(ARTIFACTS / "document-status.png"), full_page=True)
        page.get_by_role("button", name="保存效力变更").click()
        expect(page.get_by_text("待处理：第 2 版（待审核）")).to_be_visible()
        expect(page.get_by_role("list", name="依赖本文件的内容")).to_contain_text(FAQ_ID)
        page.screenshot(path=str(ARTIFACTS / "document-page.png"), full_page=True)

        page.get_by_role("link", name="设为不予公开…").click()
        expect(page.get_by_role("list", name="引用本文件的内容")).to_contain_text(FAQ_ID)
        page.get_by_role("button", name="确认设为不予公开").click()  # no reason yet
        expect(page.locator("#reason-error")).to_contain_text("须写明原因")
        page.get_by_label("理由（必填）").fill("经保密审查，含有不宜公开的内部工作安排")
        page.screenshot(path=str(ARTIFACTS / "document-withhold.png"), full_page=True)
        page.get_by_role("button", name="确认设为不予公开").click()
        expect(page.get_by_role("status")).to_contain_text("已设为不予公开")
        withheld_answer = ask(server)  # at once: the request returned after the rebuild
        browser.close()

    assert not cites_policy(withheld_answer)
    assert POLICY_ARTICLE not in withheld_answer["answer"]
    print(f"published policy answered {served_after:.1f} s after approval")
    for name in ("upload-error", "upload", "list", "review", "status", "page", "withhold"):
        assert (ARTIFACTS / f"document-{name}.png").stat().st_size > 5000
