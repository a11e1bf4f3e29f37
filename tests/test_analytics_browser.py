"""The analytics dashboard in a real browser (Debian's Chromium, headless) against `policyqa
serve`: an editor signs in, the five ECharts charts are drawn (a canvas each) with no console
error and no CSP violation, a table view is toggled, a CSV is downloaded, the printable weekly
report opens and prints. Screenshots (and the report as PDF) are kept in tests/artifacts/."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, expect, sync_playwright

from service.db.engine import get_database
from service.db.migrate import upgrade
from tests.analytics_month import Month, generate
from tests.conftest import ROOT
from tests.desk_helpers import PASSWORD, make_user
from tests.test_service_cli import serving

pytestmark = pytest.mark.browser
CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "tests" / "artifacts"
CSP_WATCH = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.fixture
def server(
    sample_index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Month]]:
    url = f"sqlite:///{tmp_path / 'state.sqlite'}"
    upgrade(get_database(url))
    make_user(url, "编辑小王", "editor")
    month = generate(url)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("POLICYQA_COOKIE_SECURE", "false")  # plain http on loopback
    with serving(sample_index, tmp_path / "serve.log") as base:
        yield base, month


def test_dashboard_draws_charts_toggles_tables_exports_and_prints(
    server: tuple[str, Month],
) -> None:
    base, month = server
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.add_init_script(CSP_WATCH)
        page = context.new_page()
        page.goto(f"{base}/admin/login")
        page.get_by_label("用户名").fill("编辑小王")
        page.get_by_label("密码").fill(PASSWORD)
        page.get_by_role("button", name="登录").click()
        page.wait_for_load_state()

        errors: list[str] = []
        page.on("console", lambda m: _error(m, errors))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{base}/admin/analytics?start={month.start}&end={month.today}")
        expect(page.get_by_role("heading", name="咨询分析", exact=True)).to_be_visible()
        charts = page.locator("div.chart")
        expect(charts).to_have_count(5)
        expect(page.locator('div.chart[data-drawn="true"]')).to_have_count(5)
        for i in range(5):
            canvas = charts.nth(i).locator("canvas")
            expect(canvas).to_have_count(1)
            box = canvas.bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 200
        # the daily chart has pixels drawn, not only an empty canvas
        inked = page.evaluate(
            """() => {
              const c = document.querySelector('#daily-chart canvas');
              const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
              let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
              return n;
            }"""
        )
        assert inked > 2000

        table = page.locator("#daily-table")
        expect(table).to_be_hidden()
        toggle = page.locator('button[data-toggle="daily"]')
        expect(toggle).to_have_attribute("aria-expanded", "false")
        toggle.click()
        expect(table).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        expect(table.get_by_role("row")).to_have_count(31)
        page.locator('button[data-toggle="unanswered"]').click()
        unanswered = page.locator("#unanswered-table")
        expect(unanswered).to_be_visible()
        expect(unanswered.get_by_role("link", name="为此编写常见问题").first).to_have_attribute(
            "href", re.compile(r"^/admin/faq/new\?question=")
        )

        with page.expect_download() as info:
            page.get_by_role("link", name="导出 CSV（每日问题量）").click()
        download = info.value
        assert download.suggested_filename == f"policyqa-daily-{month.start}-{month.today}.csv"
        rows = list(csv.reader(io.StringIO(Path(download.path()).read_text("utf-8-sig"))))
        assert rows[0][:2] == ["日期", "问题数"] and len(rows) == 31
        assert sum(int(r[1]) for r in rows[1:]) == len(month.asked)

        page.screenshot(path=str(ARTIFACTS / "analytics-dashboard.png"), full_page=True)
        assert page.evaluate("window.__csp") == []

        page.get_by_role("link", name="上周周报").first.click()
        expect(page.get_by_role("heading", name="政策咨询综合服务窗口咨询情况周报")).to_be_visible()
        expect(page.get_by_role("heading", name="一、总体情况")).to_be_visible()
        page.emulate_media(media="print")
        expect(page.locator("header")).to_be_hidden()
        expect(page.get_by_role("button", name="打印本报告")).to_be_hidden()
        page.screenshot(path=str(ARTIFACTS / "analytics-report.png"), full_page=True)
        page.pdf(path=str(ARTIFACTS / "analytics-report.pdf"), format="A4")
        assert page.evaluate("window.__csp") == []
        assert errors == []
        browser.close()
    assert (ARTIFACTS / "analytics-dashboard.png").stat().st_size > 20000
    assert (ARTIFACTS / "analytics-report.pdf").stat().st_size > 5000


def _error(message: ConsoleMessage, errors: list[str]) -> None:
    if message.type == "error":
        errors.append(message.text)
