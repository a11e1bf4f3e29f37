"""indexer.readers on real files: .docx built with python-docx, PDFs built with fpdf2, HTML, text."""

from __future__ import annotations

import datetime as dt
import glob
import random
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_BREAK
from pypdf import PdfReader, PdfWriter

from indexer.readers import (
    ReadError,
    read_sidecar,
    read_text,
    sidecar_path,
    split_front_matter,
)

# ---------------------------------------------------------------- .docx


def _law_docx(path: Path) -> Path:
    document = docx.Document()
    document.add_heading("中华人民共和国政府采购法", level=1)
    document.add_heading("第一章 总则", level=2)
    document.add_paragraph("第一条 为了规范政府采购行为，提高政府采购资金的使用效益。")
    document.add_paragraph("")  # empty paragraphs are dropped
    document.add_paragraph("第二条 在中华人民共和国境内进行的政府采购适用本法。")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows, (("项目", "金额", "备注"), ("货物", "100万元", "")), strict=False
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    merged = table.cell(2, 0).merge(table.cell(2, 1))
    merged.text = "合计"
    table.cell(2, 2).text = "100万元"
    paragraph = document.add_paragraph("第三条 政府采购应当遵循公开透明原则，")
    paragraph.add_run().add_break(WD_BREAK.LINE)
    paragraph.add_run("公平竞争原则。")
    document.save(str(path))
    return path


def test_docx_paragraphs_headings_and_tables_in_order(tmp_path: Path) -> None:
    path = _law_docx(tmp_path / "政府采购法.docx")
    assert read_text(path) == (
        "中华人民共和国政府采购法\n\n"
        "第一章 总则\n\n"
        "第一条 为了规范政府采购行为，提高政府采购资金的使用效益。\n\n"
        "第二条 在中华人民共和国境内进行的政府采购适用本法。\n\n"
        "项目 | 金额 | 备注\n\n"
        "货物 | 100万元\n\n"  # trailing empty cells are dropped
        "合计 | 100万元\n\n"  # a merged cell is read once
        "第三条 政府采购应当遵循公开透明原则，\n公平竞争原则。"
    )


def test_docx_suffix_is_case_insensitive(tmp_path: Path) -> None:
    path = _law_docx(tmp_path / "办法.DOCX")
    assert read_text(path).startswith("中华人民共和国政府采购法\n\n第一章 总则\n\n")


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(bytes(random.Random(7).getrandbits(8) for _ in range(4096)), id="random"),
        pytest.param(b"", id="empty"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 64, id="zip-header-only"),
    ],
)
def test_corrupt_docx_raises(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "坏文件.docx"
    path.write_bytes(content)
    with pytest.raises(ReadError, match="无法读取 Word 文件：文件已损坏或不是 .docx 格式"):
        read_text(path)


def test_truncated_docx_raises(tmp_path: Path) -> None:
    good = _law_docx(tmp_path / "good.docx").read_bytes()
    path = tmp_path / "截断.docx"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ReadError, match="Word"):
        read_text(path)


def test_zip_without_word_document_raises(tmp_path: Path) -> None:
    path = tmp_path / "不是word.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "这不是 Word 文件")
    with pytest.raises(ReadError, match="Word"):
        read_text(path)


def test_legacy_doc_renamed_to_docx_says_so(tmp_path: Path) -> None:
    path = tmp_path / "旧文件.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    with pytest.raises(ReadError, match=r"旧版 \.doc"):
        read_text(path)


def test_docx_without_text_raises(tmp_path: Path) -> None:
    path = tmp_path / "空白.docx"
    docx.Document().save(str(path))
    with pytest.raises(ReadError, match="没有可提取的文字"):
        read_text(path)


# ---------------------------------------------------------------- .pdf

_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # apt: fonts-wqy-zenhei
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # apt: fonts-wqy-microhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # apt: fonts-droid-fallback
)


def _cjk_font() -> str:
    for candidate in _CJK_FONTS:
        if Path(candidate).is_file():
            return candidate
    found = sorted(glob.glob("/usr/share/fonts/**/wqy-*.tt[cf]", recursive=True))
    if found:
        return found[0]
    pytest.skip("no CJK TrueType font: install the Debian package fonts-wqy-zenhei")


def _pdf(path: Path, pages: list[str]) -> Path:
    fpdf = pytest.importorskip("fpdf", reason="fpdf2 is in the [test] extra")
    font = _cjk_font()
    pdf = fpdf.FPDF()
    if font.endswith(".ttc"):
        pdf.add_font("cjk", "", font, collection_font_number=0)
    else:
        pdf.add_font("cjk", "", font)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.set_font("cjk", size=14)
            pdf.multi_cell(0, 10, text)
        else:
            pdf.rect(20, 20, 100, 60)  # a page with a drawing and no text, like a scan
    pdf.output(str(path))
    return path


_PAGE_1 = "第一条 为了规范政府采购行为，提高政府采购资金的使用效益。"
_PAGE_2 = "第二条 在中华人民共和国境内进行的政府采购适用本法。"


def test_chinese_pdf_text_is_extracted_page_by_page(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "政府采购法.pdf", [_PAGE_1, _PAGE_2])
    assert read_text(path) == f"{_PAGE_1}\n\n{_PAGE_2}"


def test_pdf_without_text_is_reported_as_scan(tmp_path: Path) -> None:
    path = _pdf(tmp_path / "扫描件.pdf", ["", ""])
    with pytest.raises(ReadError, match="扫描件"):
        read_text(path)


def _encrypt(source: Path, target: Path, user_password: str) -> Path:
    writer = PdfWriter(clone_from=PdfReader(source))
    writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    with target.open("wb") as out:
        writer.write(out)
    return target


def test_password_protected_pdf_raises(tmp_path: Path) -> None:
    plain = _pdf(tmp_path / "plain.pdf", [_PAGE_1])
    path = _encrypt(plain, tmp_path / "加密.pdf", user_password="secret")
    with pytest.raises(ReadError, match="已加密"):
        read_text(path)


def test_pdf_encrypted_with_empty_user_password_is_read(tmp_path: Path) -> None:
    # Many published PDFs only restrict printing/copying: they open without a password.
    plain = _pdf(tmp_path / "plain.pdf", [_PAGE_1])
    path = _encrypt(plain, tmp_path / "限制编辑.pdf", user_password="")
    assert read_text(path) == _PAGE_1


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(bytes(random.Random(3).getrandbits(8) for _ in range(2048)), id="random"),
        pytest.param(b"%PDF-1.7\n" + b"garbage " * 200, id="header-then-garbage"),
        pytest.param(b"", id="empty"),
    ],
)
def test_corrupt_pdf_raises(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "坏文件.pdf"
    path.write_bytes(content)
    with pytest.raises(ReadError, match="PDF"):
        read_text(path)


def test_truncated_pdf_raises(tmp_path: Path) -> None:
    good = _pdf(tmp_path / "good.pdf", [_PAGE_1, _PAGE_2]).read_bytes()
    path = tmp_path / "截断.pdf"
    path.write_bytes(good[: len(good) // 2])
    with pytest.raises(ReadError, match="PDF"):
        read_text(path)


# ---------------------------------------------------------------- .html

_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>某市财政局</title>
<style>p { color: red }</style>
<script>var secret = "<p>不应出现</p>";</script></head>
<body>
<header><div class="logo">某市财政局门户网站</div></header>
<nav><ul><li><a href="/">首页</a></li><li>机构概况</li></ul></nav>
<div class="side">网站地图</div>
<main>
<div class="crumbs">当前位置：首页 &gt; 通知公告</div>
<article>
  <header><h1>关于做好政策解读工作的通知</h1></header>
  <p>泰财办〔2021〕2号</p>
  <p>各县（市、区）财政局：<br>为了做好&ldquo;政策解读&rdquo;工作，
     现将有关事项通知如下。</p>
  <h2>一、总体要求</h2>
  <p>坚持&lt;公开为常态&gt;&amp;不公开为例外&nbsp;原则&#12290;</p>
  <table>
    <tr><th>事项</th><th>期限</th></tr>
    <tr><td><p>政策解读</p><p>发布</p></td><td>3个工作日</td></tr>
  </table>
  <ul><li>（一）明确责任</li><li>（二）创新方式</li></ul>
  <script>document.write("广告");</script>
</article>
</main>
<footer>版权所有 某市财政局</footer>
</body></html>
"""


def test_html_keeps_article_text_as_paragraphs(tmp_path: Path) -> None:
    path = tmp_path / "通知.html"
    path.write_text(_PAGE, encoding="utf-8")
    assert read_text(path) == (
        "关于做好政策解读工作的通知\n\n"
        "泰财办〔2021〕2号\n\n"
        "各县（市、区）财政局：\n为了做好“政策解读”工作， 现将有关事项通知如下。\n\n"
        "一、总体要求\n\n"
        "坚持<公开为常态>&不公开为例外 原则。\n\n"
        "事项 | 期限\n\n"
        "政策解读 发布 | 3个工作日\n\n"
        "（一）明确责任\n\n"
        "（二）创新方式"
    )


def test_html_without_article_drops_chrome_and_keeps_body(tmp_path: Path) -> None:
    page = (
        "<html><head><title>标题</title></head><body>"
        "<nav>首页 &gt; 政策法规</nav><header>网站头部</header>"
        "<div><p>第一段&amp;内容</p><div>第二段</div></div>"
        "<p>未闭合段落<p>下一段"
        "<footer>网站底部</footer><script>alert(1)</script></body></html>"
    )
    path = tmp_path / "页面.htm"
    path.write_text(page, encoding="utf-8")
    assert read_text(path) == "第一段&内容\n\n第二段\n\n未闭合段落\n\n下一段"


def test_html_in_gbk_with_meta_charset(tmp_path: Path) -> None:
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
        "</head><body><main><p>预算公开办法</p><p>第一条 为规范预算公开。</p></main></body></html>"
    )
    path = tmp_path / "预算.html"
    path.write_bytes(page.encode("gbk"))
    assert read_text(path) == "预算公开办法\n\n第一条 为规范预算公开。"


# ---------------------------------------------------------------- .md / .txt


def test_gb18030_text_file(tmp_path: Path) -> None:
    text = "关于进一步做好政府信息公开工作的通知\n\n信息公开选项：主动公开\n"
    path = tmp_path / "通知.txt"
    path.write_bytes(text.encode("gb18030"))
    assert read_text(path) == text.rstrip("\n")


def test_utf8_bom_crlf_trailing_spaces_and_blank_lines_are_normalised(tmp_path: Path) -> None:
    path = tmp_path / "办法.md"
    path.write_bytes(
        "\ufeff# 预算公开办法  \r\n\r\n\r\n\r\n　　第一条 总则。\t\r\n第二条\r\n\r\n\r\n".encode()
    )
    assert read_text(path) == "# 预算公开办法\n\n　　第一条 总则。\n第二条"


def test_utf16_with_bom_is_text(tmp_path: Path) -> None:
    path = tmp_path / "记事本.txt"
    path.write_bytes("第一条 记事本“Unicode”编码。".encode("utf-16"))
    assert read_text(path) == "第一条 记事本“Unicode”编码。"


def test_binary_content_in_text_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "图片.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    with pytest.raises(ReadError, match="二进制"):
        read_text(path)


def test_undecodable_text_raises(tmp_path: Path) -> None:
    path = tmp_path / "乱码.md"
    path.write_bytes(b"\xff\xff\xff\x80\x80")
    with pytest.raises(ReadError, match="编码"):
        read_text(path)


def test_empty_text_file_raises(tmp_path: Path) -> None:
    path = tmp_path / "空.md"
    path.write_text(" \n\n", encoding="utf-8")
    with pytest.raises(ReadError, match="没有可提取的文字"):
        read_text(path)


def test_unsupported_suffix_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ReadError, match="不支持的文件类型：.rtf"):
        read_text(tmp_path / "a.rtf")
    with pytest.raises(ReadError, match="无法打开文件"):
        read_text(tmp_path / "不存在.md")


# ---------------------------------------------------------------- front matter

_FRONT = """---
id: 政府采购法-2014
title: 中华人民共和国政府采购法
issued_on: 2014-08-31
status: 现行有效
superseded_by: null
disclosure: 主动公开
---
# 中华人民共和国政府采购法

第一条 为了规范政府采购行为。
"""


def test_front_matter_valid(tmp_path: Path) -> None:
    path = tmp_path / "政府采购法.md"
    path.write_text(_FRONT, encoding="utf-8")
    meta, body = split_front_matter(read_text(path))
    assert meta == {
        "id": "政府采购法-2014",
        "title": "中华人民共和国政府采购法",
        "issued_on": dt.date(2014, 8, 31),  # YAML dates come back as datetime.date
        "status": "现行有效",
        "superseded_by": None,
        "disclosure": "主动公开",
    }
    assert body == "# 中华人民共和国政府采购法\n\n第一条 为了规范政府采购行为。"


def test_front_matter_absent() -> None:
    text = "# 标题\n\n---\n正文"
    assert split_front_matter(text) == ({}, text)


def test_front_matter_empty_block_and_crlf() -> None:
    assert split_front_matter("---\n---\n正文") == ({}, "正文")
    assert split_front_matter("---\r\nid: a\r\n---\r\n正文") == ({"id": "a"}, "正文")


def test_front_matter_invalid_yaml_names_the_line() -> None:
    text = "---\nid: a\ntitle: 关于: 通知: [\n---\n正文"
    with pytest.raises(ReadError, match=r"YAML.*第3行") as caught:
        split_front_matter(text)
    assert "元数据" in str(caught.value)


def test_front_matter_not_a_mapping() -> None:
    with pytest.raises(ReadError, match="映射，实际是列表"):
        split_front_matter("---\n- a\n- b\n---\n正文")


def test_front_matter_without_closing_line() -> None:
    with pytest.raises(ReadError, match="没有结束"):
        split_front_matter("---\nid: a\n正文")


def test_front_matter_uses_safe_load() -> None:
    with pytest.raises(ReadError, match="YAML"):
        split_front_matter("---\nx: !!python/object/apply:os.system ['true']\n---\n正文")


# ---------------------------------------------------------------- side-car


def test_sidecar_missing_valid_and_invalid(tmp_path: Path) -> None:
    doc = tmp_path / "预算公开办法.docx"
    assert sidecar_path(doc) == tmp_path / "预算公开办法.docx.meta.yaml"
    assert read_sidecar(doc) == {}

    sidecar_path(doc).write_bytes("id: 预算公开办法\ndisclosure: 依申请公开\n".encode("gb18030"))
    assert read_sidecar(doc) == {"id": "预算公开办法", "disclosure": "依申请公开"}
    assert read_sidecar(sidecar_path(doc)) == read_sidecar(doc)

    sidecar_path(doc).write_text("id: a\ntitle: [未闭合\nstatus: 现行有效\n", encoding="utf-8")
    with pytest.raises(ReadError, match=r"预算公开办法\.docx\.meta\.yaml.*YAML.*第\d行"):
        read_sidecar(doc)

    sidecar_path(doc).write_text("只是一段文字\n", encoding="utf-8")
    with pytest.raises(ReadError, match="映射"):
        read_sidecar(doc)


def test_sidecar_empty_file_is_empty_mapping(tmp_path: Path) -> None:
    doc = tmp_path / "a.pdf"
    sidecar_path(doc).write_text("# 仅注释\n", encoding="utf-8")
    assert read_sidecar(doc) == {}
