"""The public pages of the web channel over HTTP, on the shipped sample knowledge: the bureau's
demo page, documents opened at an article, 依申请公开 and withheld documents, printable answers,
and the security headers every page carries."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from indexer.store import load_index
from policyqa.server import create_server
from service.config import Settings
from tests.conftest import WITHHELD_MARKER, ready_client


@pytest.fixture(scope="module")
def client(sample_index: Path) -> Iterator[TestClient]:
    with pytest.MonkeyPatch.context() as env:
        env.delenv("POLICYQA_REDIS_URL", raising=False)
        env.delenv("REDIS_URL", raising=False)
        app = create_server(Settings(index_dir=sample_index))
    with ready_client(app) as c:
        yield c


class _Page(HTMLParser):
    """Links, scripts and element ids of a page, and its visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self.inline_scripts = 0
        self.ids: list[str] = []
        self.text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.append(str(a["id"]))
        if tag == "a" and a.get("href"):
            self.links.append(str(a["href"]))
        if tag == "script":
            self.scripts.append(a)
            self._in_script = True
        for name in a:
            assert not name.startswith("on"), f"inline event handler {name} on <{tag}>"
        assert "style" not in a, f"inline style on <{tag}> (the CSP forbids it)"

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1
        self.text.append(data)


def parse(html: str) -> _Page:
    p = _Page()
    p.feed(html)
    return p


def text_of(html: str) -> str:
    return "".join(parse(html).text)


def test_home_page_lists_real_documents_and_carries_the_widget(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)
    text = "".join(page.text)
    assert "泰安市财政局" in text and "政策解读" in text and "政策文件" in text
    assert page.inline_scripts == 0
    widget = [s for s in page.scripts if s.get("src") == "/widget.js"]
    assert len(widget) == 1 and "defer" in widget[0] and widget[0]["data-title"]
    documents = [link for link in page.links if link.startswith("/policies/")]
    assert "/policies/解读-政府采购法-质疑投诉" in documents
    assert len(documents) >= 8
    for link in documents:
        assert client.get(link).status_code == 200, link


def test_widget_assets_are_served_from_the_service(client: TestClient) -> None:
    js = client.get("/widget.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert js.headers["cross-origin-resource-policy"] == "cross-origin"
    assert "attachShadow" in js.text and "textContent" in js.text
    # Nothing is ever parsed as markup.
    assert not re.search(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write", js.text)
    assert "http://" not in js.text and "https://" not in js.text  # nothing from elsewhere
    css = client.get("/widget.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "@import" not in css.text and "url(" not in css.text and "@font-face" not in css.text
    assert client.get("/static/site.css").status_code == 200


def test_law_opens_at_its_articles_in_order(client: TestClient) -> None:
    response = client.get("/policies/" + quote("政府采购法-2014"))
    assert response.status_code == 200
    page = parse(response.text)
    text = "".join(page.text)
    assert "中华人民共和国政府采购法" in text and "现行有效" in text and "发文字号" in text
    assert "第五十二条" in page.ids and "第五十四条" in page.ids
    assert (
        page.ids.index("第五十一条") < page.ids.index("第五十二条") < page.ids.index("第五十三条")
    )
    article = re.search(r'<section class="article" id="第五十二条">(.*?)</section>', response.text)
    assert article is not None and "七个工作日" in article[1]
    assert "第六章 质疑与投诉" in text


def test_long_sections_are_rebuilt_without_the_overlap_of_their_chunks(
    client: TestClient, sample_index: Path
) -> None:
    index = load_index(sample_index)
    by_section: dict[tuple[str, str], list[str]] = {}
    for chunk in index.chunks:
        by_section.setdefault((chunk.doc_id, chunk.section), []).append(chunk.text)
    long = [(key, texts) for key, texts in by_section.items() if len(texts) >= 3][:3]
    assert long, "the sample knowledge has sections longer than one chunk"
    for (doc_id, _section), texts in long:
        page = text_of(client.get("/policies/" + quote(doc_id)).text)
        for window in texts:
            for line in window.split("\n"):  # a table row's chunk: header line, then the row
                assert line in page  # every sentence is there …
        table = len({t.split("\n", 1)[0] for t in texts}) == 1  # header line + one row each
        first_sentence = texts[1].split("\n", 1)[1][:20] if table else texts[1][:20]
        assert page.count(first_sentence) == 1  # … once, though windows overlap


def test_document_no_longer_in_force_says_so_and_links_its_replacement(
    client: TestClient,
) -> None:
    response = client.get("/policies/" + quote("会计法-2017"))
    assert response.status_code == 200
    text = text_of(response.text)
    assert "本文件状态为已修改" in text
    assert "/policies/会计法-2024" in parse(response.text).links


def test_on_request_document_shows_only_how_to_apply(client: TestClient) -> None:
    response = client.get("/policies/" + quote("示例-泰财绩〔2021〕5号"))
    assert response.status_code == 200
    text = text_of(response.text)
    assert "如何申请公开" in text and "泰财绩〔2021〕5号" in text and "政府信息公开申请" in text
    assert "示例文档" not in text  # the body of the document is not shown


@pytest.mark.parametrize("doc_id", ["示例-财政监督检查内部工作方案-2021", "没有这个文件"])
def test_withheld_or_unknown_document_is_not_found(client: TestClient, doc_id: str) -> None:
    response = client.get("/policies/" + quote(doc_id))
    assert response.status_code == 404
    assert "未找到该文件" in response.text and WITHHELD_MARKER not in response.text


def test_printable_answer_page(client: TestClient) -> None:
    question = "我是供应商，对政府采购的中标结果有异议，该怎么办？"
    body = client.post("/api/v1/ask", json={"question": question}).json()
    # Every answer is recorded (service/conversations.py): its page lives as long as it does.
    response = client.get(f"/answers/{body['answer_id']}")
    missing = client.get("/answers/0123456789abcdef")
    assert response.status_code == 200 and missing.status_code == 404
    page = parse(response.text)
    text = "".join(page.text)
    assert question in text and "七个工作日" in text and "中华人民共和国政府采购法" in text
    assert "/policies/政府采购法-2014#第五十二条" in page.links
    assert not page.scripts  # a plain printable page, no widget


@pytest.mark.parametrize(
    "path", ["/", "/policies/政府采购法-2014", "/widget.js", "/api/v1/ask", "/nowhere"]
)
def test_security_headers_on_every_response(client: TestClient, path: str) -> None:
    response = client.get(quote(path))
    csp = response.headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'" and "unsafe" not in csp
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert response.headers["x-frame-options"] == "DENY"
