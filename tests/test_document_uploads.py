"""service/documents/uploads.py on real files: each supported type is read by the indexer's
readers, metadata the file carries pre-fills the form, and every refusal names the file."""

from __future__ import annotations

import io

import pytest

from service.documents.uploads import read_upload
from service.problems import Invalid, Problem, TooLarge, UnsupportedFile
from tests.document_files import POLICY_NO, POLICY_TITLE, policy_docx

LIMIT = 1 << 20


def test_docx_text_and_what_it_says() -> None:
    file = read_upload("通知.docx", policy_docx(), max_bytes=LIMIT)
    assert file.suffix == ".docx" and "九十日内" in file.text
    assert file.found["doc_no"] == POLICY_NO and file.found["title"] == POLICY_TITLE
    assert file.found["issued_on"] == "2026-03-01" and file.found["issuer"] == "泰安市财政局"
    assert len(file.sha256) == 64


def test_markdown_front_matter_prefills_and_is_not_text() -> None:
    data = "---\nid: 泰财〔2026〕1号\ntitle: 标题甲\n---\n# 标题乙\n\n第一条 正文。\n".encode()
    file = read_upload("a.md", data, max_bytes=LIMIT)
    assert file.found["id"] == "泰财〔2026〕1号" and file.found["title"] == "标题甲"
    assert "标题甲" not in file.text and "第一条 正文。" in file.text


def test_gb18030_text_and_html_article() -> None:
    text = read_upload("通知.txt", "第一条 财政资金。".encode("gb18030"), max_bytes=LIMIT)
    assert text.text == "第一条 财政资金。" and text.found["title"] == "通知"
    page = "<html><nav>首页</nav><article><h1>关于某事的通知</h1><p>正文内容。</p></article></html>"
    html = read_upload("page.html", page.encode(), max_bytes=LIMIT)
    assert "首页" not in html.text and html.found["title"] == "关于某事的通知"


def test_pdf_is_read() -> None:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is in the [test] extra")
    pdf = fpdf.FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.cell(text="Article 1 Budget disclosure within twenty days.")
    out = io.BytesIO(pdf.output())
    file = read_upload("budget.pdf", out.getvalue(), max_bytes=LIMIT)
    assert "twenty days" in file.text and file.suffix == ".pdf"


@pytest.mark.parametrize(
    ("name", "data", "problem", "says"),
    [
        ("a.md", b"x" * (LIMIT + 1), TooLarge, "超过上限"),
        ("假.docx", b"PK\x03\x04broken", UnsupportedFile, "假.docx"),
        ("假.pdf", b"hello", UnsupportedFile, "%PDF-"),
        ("假.pdf", b"%PDF-1.4\nbroken", Invalid, "假.pdf"),
        ("二进制.txt", b"a\x00b", UnsupportedFile, "NUL"),
        ("乱码.txt", b"abc\xff\x80", UnsupportedFile, "乱码.txt"),
        ("表格.xlsx", b"PK", UnsupportedFile, "不受支持"),
        ("无扩展名", b"text", UnsupportedFile, "没有扩展名"),
        ("空.md", b"", Invalid, "空文件"),
        ("空白.txt", b"  \n\n ", Invalid, "空白.txt"),
        ("", b"text", Invalid, "文件名"),
    ],
)
def test_refusals_name_the_file(name: str, data: bytes, problem: type[Problem], says: str) -> None:
    with pytest.raises(problem) as refused:
        read_upload(name, data, max_bytes=LIMIT)
    assert type(refused.value) is problem and says in refused.value.message
