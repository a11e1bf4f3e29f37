"""/docs and /redoc work without the internet: their pages reference only this server, the
assets are served from the package, and a real browser renders them without one outside request."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from service.app import create_app
from service.config import Settings
from tests.served import free_port

CHROMIUM = Path("/usr/bin/chromium")
URL = re.compile(r"""(?:https?:)?//[^\s"'<>)]+""")


def test_pages_reference_no_external_url_and_assets_are_served(tmp_path: Path) -> None:
    with TestClient(create_app(Settings(index_dir=tmp_path))) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page).text
            assert URL.findall(html) == [], (page, URL.findall(html))
            assets = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
            assert assets, page
            for asset in assets:
                response = client.get(asset)
                assert response.status_code == 200 and len(response.content) > 500, asset
        assert "validatorUrl" in client.get("/docs").text
        for page in ("/docs", "/redoc"):  # the browser refuses anything from elsewhere
            policy = client.get(page).headers["content-security-policy"]
            assert "default-src 'self'" in policy and "img-src 'self' data:" in policy
        js = client.get("/static/docs/swagger-ui/swagger-ui-bundle.js")
        assert "javascript" in js.headers["content-type"]
        assert client.get("/static/docs/redoc/LICENSE").status_code == 200
        assert client.get("/static/docs/swagger-ui/LICENSE").status_code == 200


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The app served over real HTTP (no index needed for the documentation)."""
    app = create_app(Settings(index_dir=tmp_path_factory.mktemp("no-index")))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive()
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize(
    ("page", "selector"), [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")]
)
def test_a_browser_renders_the_docs_without_outside_requests(
    base_url: str, page: str, selector: str
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    requested: list[str] = []
    loaded: list[str] = []
    failed: dict[str, str | None] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            tab = browser.new_page()
            tab.on("request", lambda request: requested.append(request.url))
            tab.on("requestfinished", lambda request: loaded.append(request.url))
            tab.on("requestfailed", lambda request: failed.update({request.url: request.failure}))
            tab.goto(base_url + page)
            tab.wait_for_selector(selector, timeout=30000)
            assert "policyqa" in tab.inner_text(selector)
            assert httpx.get(base_url + "/openapi.json").status_code == 200
            tab.wait_for_load_state("networkidle", timeout=30000)
        finally:
            browser.close()
    local = (base_url, "data:", "blob:")
    assert [u for u in loaded if not u.startswith(local)] == []
    # What a bundle tries to fetch from elsewhere (ReDoc's sidebar logo) the browser blocks.
    for url in (u for u in requested if not u.startswith(local)):
        assert "csp" in str(failed.get(url)).lower(), (url, failed.get(url))
    assert any(u.endswith("/openapi.json") for u in loaded)
