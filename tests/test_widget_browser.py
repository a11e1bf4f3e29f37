"""The consultation widget in a real browser (Debian's Chromium, driven by Playwright) against a
really served instance (``policyqa serve``) on the sample knowledge base, as a citizen uses it:
keyboard only, citations that open the document at the article, related questions, feedback,
a person's reply arriving live, markup in answers that stays text, origins the service refuses,
errors that can be retried; axe-core on the demo page; screenshots for desktop and phone.

The knowledge base is the shipped one plus one FAQ entry a staff member wrote with markup in its
answer (``<script>``, ``<img onerror>``): the way such text would really reach a citizen.
The parts that need the conversations backend (feedback, handoff, staff replies, history) skip
with the reason when its routes are absent.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import KNOWLEDGE, ROOT, run_cli

playwright_api = pytest.importorskip("playwright.sync_api")
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright  # noqa: E402

from tests.served import free_port  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
if not Path(CHROMIUM).exists():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = ROOT / "tests" / "artifacts"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
PROCUREMENT = "我是供应商，对政府采购的中标结果有异议，该怎么办？"
MARKUP_QUESTION = "网页咨询窗口的回答里如果有脚本代码会被执行吗？"
MARKUP_FAQ = """\
- id: web-markup-check
  question: 网页咨询窗口的回答里如果有脚本代码会被执行吗？
  variants:
    - 咨询窗口回答中的脚本会执行吗
  answer: |
    不会。<script>window.__pwned = "script"</script><img src="x" onerror="window.__pwned = 'img'">以上内容只作为文字显示。
  category: 网站
  reviewed: true
"""
RATE_LIMIT = 40  # questions per minute and client on the served instance


@dataclass(frozen=True)
class Served:
    url: str  # the service (its own pages carry the widget)
    partner: str  # another site's page embedding the widget, an allowed origin
    foreign: str  # a page of an origin not in POLICYQA_ALLOWED_ORIGINS
    paths: frozenset[str]  # API paths the service offers (conversations backend or not)
    index: Path


def _host_page(service: str, title: str) -> bytes:
    return f"""<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">
<title>{title}</title><style>* {{ font-size: 40px !important; color: #f0f !important; }}
button {{ display: none !important; }} .msg, .panel {{ display: none !important; }}</style>
</head><body><main><h1>{title}</h1><p class="msg">这是另一个网站的页面，嵌入了政策咨询窗口。</p>
</main><script src="{service}/widget.js" data-service="{service}" data-title="{title}政策咨询"
data-color="#0b5394" data-greeting="欢迎咨询。" defer></script></body></html>""".encode()


@contextlib.contextmanager
def _static_site(body: bytes) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def web_index(sample_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample index, updated incrementally with the FAQ entry that carries markup."""
    work = tmp_path_factory.mktemp("web")
    knowledge = work / "knowledge"
    shutil.copytree(KNOWLEDGE, knowledge)
    (knowledge / "faq" / "网站.yaml").write_text(MARKUP_FAQ, encoding="utf-8")
    index = work / "index"
    shutil.copytree(sample_index, index)
    result = run_cli("index", str(knowledge), "--out", str(index), "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr
    return index


@pytest.fixture(scope="module")
def served(web_index: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    port = free_port()
    service = f"http://127.0.0.1:{port}"
    with (
        _static_site(_host_page(service, "合作网站")) as partner,
        _static_site(_host_page(service, "未登记网站")) as foreign,
    ):
        state = tmp_path_factory.mktemp("web-state")
        env = {
            **os.environ,
            "POLICYQA_ALLOWED_ORIGINS": partner,
            "POLICYQA_RATE_LIMIT_PER_MINUTE": str(RATE_LIMIT),
            "POLICYQA_REDIS_URL": "",
            "POLICYQA_COOKIE_SECURE": "false",  # the staff desk's sign-in cookie over http
        }
        exe = Path(sys.executable).with_name("policyqa")
        log = (state / "serve.log").open("w")
        proc = subprocess.Popen(
            [str(exe), "serve", "--index", str(web_index), "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 300
            while True:
                assert proc.poll() is None, (state / "serve.log").read_text()
                assert time.monotonic() < deadline, "the service did not become ready"
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(service + "/readyz", timeout=5).status_code == 200:
                        break
                time.sleep(0.5)
            paths = frozenset(httpx.get(service + "/openapi.json").json()["paths"])
            yield Served(service, partner, foreign, paths, web_index)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
            log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    yield p
    context.close()
    assert not errors, errors


def needs(served: Served, *paths: str) -> None:
    missing = [p for p in paths if p not in served.paths]
    if missing:
        pytest.skip(
            f"the conversations backend is not in this build: {', '.join(missing)} absent "
            "(issue 8; enable after merging the conversations branch)"
        )


# ---- what a citizen does ---------------------------------------------------------------------


def open_with_keyboard(page: Page) -> None:
    page.get_by_role("button", name="政策咨询").wait_for()
    for _ in range(120):
        page.keyboard.press("Tab")
        if page.evaluate(
            "() => document.getElementById('policyqa-widget')"
            "?.shadowRoot.activeElement?.textContent === '政策咨询'"
        ):
            break
    else:
        pytest.fail("the 政策咨询 button cannot be reached with the Tab key")
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog")).to_be_visible()
    expect(page.get_by_label("请输入您的问题")).to_be_focused()


def bot_messages(page: Page) -> Any:
    return page.get_by_role("log").locator(".msg.bot")


def ask(page: Page, question: str) -> Any:
    """Types a question and sends it with Enter; returns the answer's message."""
    before = bot_messages(page).count()
    box = page.get_by_label("请输入您的问题")
    box.fill(question)
    box.press("Enter")
    expect(bot_messages(page)).to_have_count(before + 1, timeout=30_000)
    return bot_messages(page).last


def focus_in_panel(page: Page) -> bool:
    result: bool = page.evaluate(
        "() => { const r = document.getElementById('policyqa-widget').shadowRoot;"
        " return !!r.activeElement && r.getElementById('pq-panel').contains(r.activeElement); }"
    )
    return result


# ---- the tests -----------------------------------------------------------------------------


def test_keyboard_question_citation_and_related_question(page: Page, served: Served) -> None:
    page.goto(served.url + "/")
    open_with_keyboard(page)

    held: list[Route] = []
    page.route("**/api/v1/ask", lambda route: held.append(route))
    box = page.get_by_label("请输入您的问题")
    box.press_sequentially(PROCUREMENT)
    box.press("Enter")
    expect(page.get_by_role("log").locator(".msg.citizen").last).to_have_text(
        re.compile(re.escape(PROCUREMENT))
    )
    while not held:  # the question is on its way: the panel says an answer is coming
        page.wait_for_timeout(20)
    expect(page.get_by_text("正在回答…")).to_be_visible()
    held[0].continue_()
    page.unroute("**/api/v1/ask")

    answer = bot_messages(page).last
    expect(answer).to_contain_text("七个工作日", timeout=30_000)
    expect(page.get_by_text("正在回答…")).to_have_count(0)
    link = answer.get_by_role("link", name=re.compile("中华人民共和国政府采购法.*第五十二条"))
    expect(link).to_have_attribute("href", re.compile(r"/policies/.+#%E7%AC%AC.+"))
    with page.expect_popup() as popup:
        link.click()
    document = popup.value
    document.wait_for_load_state()
    assert document.evaluate("decodeURIComponent(location.pathname + location.hash)") == (
        "/policies/政府采购法-2014#第五十二条"
    )
    article = document.locator("section:target")
    expect(article).to_contain_text("第五十二条")
    expect(article).to_contain_text("七个工作日")
    expect(article).to_be_in_viewport()
    document.close()

    related = answer.locator(".related button").first
    question = related.inner_text()
    related.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("log").locator(".msg.citizen").last).to_contain_text(question)
    expect(bot_messages(page)).to_have_count(3, timeout=30_000)  # greeting and two answers

    for _ in range(30):  # focus stays in the open panel
        page.keyboard.press("Tab")
        assert focus_in_panel(page)
    for _ in range(5):
        page.keyboard.press("Shift+Tab")
        assert focus_in_panel(page)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(page.get_by_role("button", name="政策咨询")).to_be_focused()
    page.keyboard.press("Shift+Tab")  # closed: the keyboard is free to leave
    assert page.evaluate("document.activeElement.id") != "policyqa-widget"


def test_answer_with_markup_stays_text(page: Page, served: Served) -> None:
    page.goto(served.url + "/")
    open_with_keyboard(page)
    answer = ask(page, MARKUP_QUESTION)
    expect(answer).to_contain_text('<script>window.__pwned = "script"</script>')
    expect(answer).to_contain_text('<img src="x" onerror="window.__pwned = \'img\'">')
    page.wait_for_timeout(500)  # an <img src=x> would have failed to load by now
    assert page.evaluate("window.__pwned") is None
    assert page.get_by_role("log").locator("script, img").count() == 0


def test_feedback_on_an_answer(page: Page, served: Served) -> None:
    needs(served, "/api/v1/feedback")
    page.goto(served.url + "/")
    open_with_keyboard(page)
    answer = ask(page, PROCUREMENT)
    helpful = answer.get_by_role("button", name="有帮助", exact=True)
    with page.expect_response("**/api/v1/feedback") as response:
        helpful.click()
    assert response.value.status == 200
    expect(answer).to_contain_text("感谢您的反馈")
    expect(helpful).to_have_attribute("aria-pressed", "true")


STAFF_ROUTES = (
    "/api/v1/staff/session",
    "/api/v1/staff/tickets/{ticket_id}/claim",
    "/api/v1/staff/tickets/{ticket_id}/messages",
)


def staff_reply(served: Served, ticket_id: str, text: str) -> None:
    """A staff member signs in to the handoff desk, claims the ticket and replies (the desk's
    API on the conversations branch: account made with ``policyqa admin create-user``)."""
    name, password = f"web-agent-{uuid.uuid4().hex[:8]}", "Widget-Test-Pass-2026!"
    exe = Path(sys.executable).with_name("policyqa")
    made = subprocess.run(
        [str(exe), "admin", "create-user", name, "--role", "agent", "--password-stdin"]
        + ["--index", str(served.index)],
        input=password + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stdout + made.stderr
    with httpx.Client(base_url=served.url, timeout=10) as staff:
        me = staff.post("/api/v1/staff/session", json={"name": name, "password": password})
        assert me.status_code == 200, me.text
        csrf = {"X-CSRF-Token": me.json()["csrf_token"]}
        claimed = staff.post(f"/api/v1/staff/tickets/{ticket_id}/claim", headers=csrf)
        assert claimed.status_code == 200, claimed.text
        sent = staff.post(
            f"/api/v1/staff/tickets/{ticket_id}/messages", json={"text": text}, headers=csrf
        )
        assert sent.status_code in (200, 201), sent.text


def test_handoff_staff_reply_arrives_live_and_survives_reload(page: Page, served: Served) -> None:
    needs(
        served,
        "/api/v1/handoff",
        "/api/v1/sessions/{session_id}/messages",
        "/api/v1/sessions/{session_id}/events",
    )
    needs(served, *STAFF_ROUTES)
    page.goto(served.url + "/")
    open_with_keyboard(page)
    ask(page, PROCUREMENT)
    with page.expect_response("**/api/v1/handoff") as response:
        page.get_by_role("button", name="转人工").click()
    ticket = response.value.json()
    expect(page.get_by_role("log").locator(".msg.system").last).to_contain_text(ticket["message"])
    page.wait_for_timeout(1000)  # the event stream is open
    text = '您好，质疑应在七个工作日内书面提出。<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'
    staff_reply(served, ticket["ticket_id"], text)
    staff = page.get_by_role("log").locator(".msg.staff")
    expect(staff).to_contain_text("质疑应在七个工作日内书面提出", timeout=20_000)
    page.reload()
    page.get_by_role("button", name="政策咨询").click()
    expect(staff).to_contain_text("质疑应在七个工作日内书面提出", timeout=20_000)
    expect(page.get_by_role("log").locator(".msg.citizen").first).to_contain_text(PROCUREMENT)
    assert page.evaluate("window.__pwned") is None
    assert page.get_by_role("log").locator("script, img").count() == 0


def test_widget_on_an_allowed_site_and_refused_on_another(page: Page, served: Served) -> None:
    page.goto(served.partner + "/")
    # The host page's rules (every button hidden, 40px magenta text) do not reach the widget,
    # and the widget's rules do not reach the page (its own .msg paragraph stays as it was).
    launcher = page.get_by_role("button", name="政策咨询")
    launcher.click()
    expect(page.get_by_role("dialog", name="合作网站政策咨询")).to_be_visible()
    assert (
        page.get_by_role("button", name="发送").evaluate("b => getComputedStyle(b).fontSize")
        != "40px"
    )
    assert page.locator("main p.msg").evaluate("p => getComputedStyle(p).display") == "none"
    answer = ask(page, "国库券的发行对象有哪些？")
    expect(answer.get_by_role("link").first).to_have_attribute(
        "href", re.compile("^" + re.escape(served.url + "/policies/"))
    )

    page.goto(served.foreign + "/")
    page.get_by_role("button", name="政策咨询").click()
    page.get_by_label("请输入您的问题").fill("国库券的发行对象有哪些？")
    page.get_by_label("请输入您的问题").press("Enter")
    expect(page.get_by_role("log")).to_contain_text("网络连接失败", timeout=20_000)
    expect(page.get_by_role("button", name="重试")).to_be_visible()
    outcome = page.evaluate(
        """url => fetch(url + '/api/v1/ask', {method: 'POST',
             headers: {'Content-Type': 'application/json'}, body: '{"question": "你好"}'})
           .then(() => 'answered', e => 'refused: ' + e.name)""",
        served.url,
    )
    assert outcome == "refused: TypeError"
    direct = httpx.post(
        served.url + "/api/v1/ask", json={"question": "你好"}, headers={"Origin": served.foreign}
    )
    assert direct.status_code == 403 and "未获准" in direct.json()["detail"]


def _axe_violations(page: Page) -> list[dict[str, Any]]:
    page.evaluate(AXE.read_text(encoding="utf-8"))
    violations: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
             .map(v => ({id: v.id, impact: v.impact, help: v.help,
                         nodes: v.nodes.map(n => n.target.join(' '))}))"""
    )
    return violations


def test_accessibility_and_screenshots(browser: Browser, page: Page, served: Served) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.goto(served.url + "/")
    open_with_keyboard(page)
    ask(page, PROCUREMENT)
    violations = _axe_violations(page)
    serious = [v for v in violations if v["impact"] in ("serious", "critical")]
    assert not serious, serious
    page.screenshot(path=str(ARTIFACTS / "widget-desktop.png"))

    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    mobile = phone.new_page()
    mobile.goto(served.url + "/")
    mobile.get_by_role("button", name="政策咨询").tap()
    ask(mobile, PROCUREMENT)
    box = mobile.get_by_role("dialog").bounding_box()
    assert box is not None and (box["x"], box["y"]) == (0, 0)
    assert (box["width"], box["height"]) == (390, 844)  # full screen on a phone
    mobile.screenshot(path=str(ARTIFACTS / "widget-phone.png"))
    phone.close()


def test_text_at_200_percent_still_fits(browser: Browser, served: Served) -> None:
    # A 1280×800 screen at 200% zoom: 640×400 CSS pixels, each drawn with 2×2 device pixels.
    context = browser.new_context(
        viewport={"width": 640, "height": 400}, device_scale_factor=2, locale="zh-CN"
    )
    page = context.new_page()
    page.goto(served.url + "/")
    open_with_keyboard(page)
    answer = ask(page, PROCUREMENT)
    for name in ("请输入您的问题",):
        expect(page.get_by_label(name)).to_be_in_viewport()
    expect(page.get_by_role("button", name="发送")).to_be_in_viewport()
    expect(page.get_by_role("button", name="关闭对话窗口")).to_be_in_viewport()
    panel = page.get_by_role("dialog").bounding_box()
    assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 640
    assert panel["y"] >= 0 and panel["y"] + panel["height"] <= 400
    wide: bool = answer.evaluate("m => m.scrollWidth > m.clientWidth")
    assert not wide, "the answer overflows sideways"
    context.close()


def test_network_failure_and_rate_limit_can_be_retried(page: Page, served: Served) -> None:
    page.goto(served.url + "/")
    open_with_keyboard(page)
    page.route("**/api/v1/ask", lambda route: route.abort("internetdisconnected"))
    page.get_by_label("请输入您的问题").fill(PROCUREMENT)
    page.get_by_label("请输入您的问题").press("Enter")
    log = page.get_by_role("log")
    expect(log).to_contain_text("未能获得回答：网络连接失败，请检查网络后重试。")
    page.unroute("**/api/v1/ask")
    page.get_by_role("button", name="重试").click()
    expect(bot_messages(page).last).to_contain_text("七个工作日", timeout=30_000)
    expect(log.locator(".msg.citizen")).to_have_count(1)  # the question is not repeated
    expect(page.get_by_role("button", name="重试")).to_have_count(0)

    # This client uses up its questions of the minute (last test of the module: the limit
    # would hold for up to a minute).
    for _ in range(3 * RATE_LIMIT):
        if httpx.post(served.url + "/api/v1/ask", json={}).status_code == 429:
            break
    page.get_by_label("请输入您的问题").fill("国库券的发行对象有哪些？")
    page.get_by_label("请输入您的问题").press("Enter")
    expect(log).to_contain_text(re.compile(r"您的操作过于频繁，请 \d+ 秒后重试。"))
    expect(page.get_by_role("button", name="重试")).to_be_visible()
