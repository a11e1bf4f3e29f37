"""Read document files (.md .txt .docx .pdf .html .htm) into plain text, plus YAML metadata.

Every reader returns text whose paragraphs are separated by one blank line, with line endings
normalised to ``\\n``; anything that cannot be read raises :class:`ReadError` with a reason in
Chinese that the build report shows to bureau staff.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "ReadError",
    "SUFFIXES",
    "decode_text",
    "normalise_text",
    "read_data",
    "read_sidecar",
    "read_text",
    "sidecar_path",
    "split_front_matter",
]

SIDECAR_SUFFIX = ".meta.yaml"
# legacy .doc / .xls files, and password-protected Office files, are OLE compound files
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class ReadError(Exception):
    """A file that cannot be read; the message (in Chinese) names the problem."""


# ---------------------------------------------------------------- text helpers

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_INVISIBLE = str.maketrans({"\ufeff": None, "\u200b": None, "\xa0": " "})


def normalise_text(text: str) -> str:
    """``\\n`` line endings, no trailing spaces, at most one blank line in a row, no control chars."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _CONTROL.sub("", text.translate(_INVISIBLE))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def decode_text(data: bytes) -> str:
    """Decode a text file: UTF-8 (with or without BOM), UTF-16 with BOM, else GB18030."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ReadError("无法识别文件编码：UTF-16 内容有误") from exc
    if b"\x00" in data:
        raise ReadError("文件含有二进制内容（NUL 字节），不是文本文件")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ReadError("无法识别文件编码：既不是 UTF-8 也不是 GB18030（GBK）")


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ReadError(f"无法打开文件：{exc.strerror or exc}") from exc


# ---------------------------------------------------------------- .md / .txt


def _read_plain(data: bytes) -> str:
    text = decode_text(data)
    controls = len(_CONTROL.findall(text))
    if controls > max(8, len(text) // 100):
        raise ReadError("文件含有大量控制字符，看起来是二进制文件而不是文本文件")
    return text


# ---------------------------------------------------------------- .docx


def _is_docx_zip(data: bytes) -> bool:
    """A .docx is a zip archive holding ``word/document.xml``."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _read_docx(data: bytes) -> str:
    import docx
    from docx.table import Table

    if data.startswith(_OLE_MAGIC):
        raise ReadError(
            "无法读取 Word 文件：这是旧版 .doc 格式或设置了打开密码，请用 Word 另存为 .docx"
        )
    if not _is_docx_zip(data):
        raise ReadError("无法读取 Word 文件：文件已损坏或不是 .docx 格式")
    try:
        document = docx.Document(io.BytesIO(data))
        blocks: list[str] = []
        for item in document.iter_inner_content():
            if isinstance(item, Table):
                blocks.extend(_table_rows(item))
            elif item.text.strip():
                blocks.append(item.text.strip())
    except Exception as exc:  # python-docx raises zip, XML, KeyError, ... on broken files
        raise ReadError("无法读取 Word 文件：文件已损坏或不是 .docx 格式") from exc
    return "\n\n".join(blocks)


def _table_rows(table: Any) -> list[str]:
    """One line per table row, the cells' text separated by `` | `` (merged cells once)."""
    rows: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: list[object] = []
        for cell in row.cells:
            if any(cell._tc is tc for tc in seen):  # a merged cell repeats across its span
                continue
            seen.append(cell._tc)
            cells.append(_cell_text(cell))
        while cells and not cells[-1]:
            cells.pop()
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _cell_text(cell: Any) -> str:
    from docx.table import Table

    parts: list[str] = []
    for item in cell.iter_inner_content():
        if isinstance(item, Table):
            parts.extend(_table_rows(item))
        else:
            parts.append(item.text)
    return " ".join(" ".join(parts).split())


# ---------------------------------------------------------------- .pdf


def _read_pdf(data: bytes) -> str:
    from pypdf import PasswordType, PdfReader

    if b"%PDF-" not in data[:1024]:
        raise ReadError("无法读取 PDF 文件：文件已损坏或不是 PDF 格式")
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
    except Exception as exc:
        raise ReadError("无法读取 PDF 文件：文件已损坏或不是 PDF 格式") from exc
    if encrypted:
        try:
            opened = reader.decrypt("") != PasswordType.NOT_DECRYPTED
        except Exception:  # e.g. AES without the optional cryptography package
            opened = False
        if not opened:
            raise ReadError("无法读取 PDF 文件：文件已加密（需要密码），无法提取文字")
    pages: list[str] = []
    for number, page in enumerate(_pages(reader), start=1):
        try:
            pages.append(page.extract_text() or "")
        except Exception as exc:
            raise ReadError(f"无法读取 PDF 文件：第{number}页已损坏，无法提取文字") from exc
    text = "\n\n".join(pages)
    if not text.strip():
        raise ReadError(
            "PDF 中没有可提取的文字：可能是扫描件（图片），需要先做文字识别（OCR）或提供文字版"
        )
    return text


def _pages(reader: Any) -> list[Any]:
    try:
        return list(reader.pages)
    except Exception as exc:
        raise ReadError("无法读取 PDF 文件：页面结构已损坏") from exc


# ---------------------------------------------------------------- .html / .htm

_SKIP_TAGS = frozenset(
    {"script", "style", "nav", "footer", "noscript", "template", "head", "aside",
     "iframe", "svg", "select", "button"}
)  # fmt: skip
_BLOCK_TAGS = frozenset(
    {"p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd",
     "table", "thead", "tbody", "tfoot", "tr", "caption", "section", "article", "main",
     "blockquote", "pre", "hr", "figure", "figcaption", "address", "form", "fieldset", "body",
     "header"}
)  # fmt: skip
_HTML_SPACE = re.compile(r"[ \t\n\r\f]+")
_SPACES = re.compile(r" {2,}")


class _TextExtractor(HTMLParser):
    """Collects the visible text of a page as blocks, remembering which lie in <article>/<main>."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[tuple[str, bool, bool]] = []  # (text, in <article>, in <main>)
        self._parts: list[str] = []
        self._skip: list[str] = []
        self._article = 0
        self._main = 0
        self._pre = 0
        self._cell = 0
        self._row_cells = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.append(tag)
            return
        if tag in _SKIP_TAGS or (tag == "header" and not (self._article or self._main)):
            self._skip.append(tag)  # an <article>'s own <header> holds its title: keep that
            return
        if tag == "br":
            self._parts.append("\n")
        elif tag in ("td", "th"):  # end tags of cells may be omitted: cells never nest here
            if self._row_cells:
                self._parts.append(" | ")
            self._cell = 1
            self._row_cells += 1
        elif tag in _BLOCK_TAGS:
            if tag in ("tr", "table"):
                self._cell = self._row_cells = 0
            self._boundary()
        if tag == "article":
            self._article += 1
        elif tag == "main":
            self._main += 1
        elif tag == "pre":
            self._pre += 1

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br" and not self._skip:
            self._parts.append("\n")
        elif tag in _BLOCK_TAGS and not self._skip:
            self._boundary()

    def handle_endtag(self, tag: str) -> None:
        if self._skip:
            if tag == self._skip[-1]:
                self._skip.pop()
            return
        if tag in ("td", "th"):
            self._cell = 0
        elif tag in _BLOCK_TAGS:
            if tag in ("tr", "table"):
                self._cell = self._row_cells = 0
            self._boundary()
        if tag == "article":
            self._article = max(0, self._article - 1)
        elif tag == "main":
            self._main = max(0, self._main - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self._parts.append(data if self._pre else _HTML_SPACE.sub(" ", data))

    def _boundary(self) -> None:
        if self._cell:  # block elements inside a table cell stay on the row's line
            self._parts.append(" ")
            return
        text = "".join(self._parts)
        self._parts = []
        lines = (line if self._pre else _SPACES.sub(" ", line.strip()) for line in text.split("\n"))
        text = "\n".join(line for line in lines if line.strip())
        if text:
            self.blocks.append((text, self._article > 0, self._main > 0))

    def close(self) -> None:
        super().close()
        self._cell = 0
        self._boundary()


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", re.I)


def _decode_html(data: bytes) -> str:
    match = _META_CHARSET.search(data[:4096])
    if match and not data.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        charset = match.group(1).decode("ascii").lower()
        if charset in ("gb2312", "gbk", "gb18030", "x-gbk", "cp936"):
            charset = "gb18030"
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            pass
    return decode_text(data)


def _read_html(data: bytes) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(_decode_html(data))
        parser.close()
    except ReadError:
        raise
    except Exception as exc:
        raise ReadError("无法读取网页文件：HTML 内容无法解析") from exc
    blocks = parser.blocks
    if any(in_article for _, in_article, _ in blocks):
        blocks = [b for b in blocks if b[1]]
    elif any(in_main for _, _, in_main in blocks):
        blocks = [b for b in blocks if b[2]]
    return "\n\n".join(text for text, _, _ in blocks)


# ---------------------------------------------------------------- dispatch

_READERS: dict[str, Callable[[bytes], str]] = {
    ".md": _read_plain,
    ".txt": _read_plain,
    ".docx": _read_docx,
    ".pdf": _read_pdf,
    ".html": _read_html,
    ".htm": _read_html,
}
SUFFIXES = tuple(_READERS)


def read_text(path: Path) -> str:
    """The normalised text of a document; a .md/.txt file keeps its front matter (see below)."""
    if path.suffix.lower() not in _READERS:
        raise ReadError(f"不支持的文件类型：{path.suffix or '（没有扩展名）'}")
    return read_data(_read_bytes(path), path.suffix)


def read_data(data: bytes, suffix: str) -> str:
    """The normalised text of a document's bytes (an upload), read as ``suffix`` says:
    the same readers and checks as :func:`read_text`."""
    reader = _READERS.get(suffix.lower())
    if reader is None:
        raise ReadError(f"不支持的文件类型：{suffix or '（没有扩展名）'}")
    text = normalise_text(reader(data))
    if not text.strip():
        raise ReadError("文件中没有可提取的文字")
    return text


# ---------------------------------------------------------------- YAML metadata

_FRONT_MATTER = re.compile(r"\A\ufeff?---[ \t]*\r?\n")
_FRONT_MATTER_END = re.compile(r"^(?:---|\.\.\.)[ \t]*\r?$", re.M)


def _load_mapping(text: str, where: str, first_line: int) -> dict[str, Any]:
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = f"第{mark.line + first_line}行" if mark is not None else "位置未知"
        raise ReadError(f"{where}不是有效的 YAML（{line}）：{problem}") from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ReadError(f"{where}应为“键: 值”形式的映射，实际是{_yaml_kind(value)}")
    return {str(key): val for key, val in value.items()}


def _yaml_kind(value: object) -> str:
    if isinstance(value, list):
        return "列表"
    if isinstance(value, str):
        return "一段文字"
    return type(value).__name__


def split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """Split a leading ``---`` YAML block off a .md/.txt text: (metadata, body).

    No block gives ``({}, text)``. Line numbers in errors count from the file's first line.
    """
    start = _FRONT_MATTER.match(text)
    if start is None:
        return {}, text
    end = _FRONT_MATTER_END.search(text, start.end())
    if end is None:
        raise ReadError("文件开头的 YAML 元数据块没有结束：缺少单独一行的 ---")
    meta = _load_mapping(text[start.end() : end.start()], "文件开头的 YAML 元数据", 2)
    body = text[end.end() :]
    if body.startswith("\r\n"):
        body = body[2:]
    elif body.startswith("\n"):
        body = body[1:]
    return meta, body


def sidecar_path(path: Path) -> Path:
    """``预算公开办法.docx`` → ``预算公开办法.docx.meta.yaml``."""
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_sidecar(path: Path) -> dict[str, Any]:
    """The side-car metadata of a document (pass the document or the ``.meta.yaml`` path).

    A missing side-car gives ``{}``; an unreadable or invalid one raises :class:`ReadError`.
    """
    meta_path = path if path.name.endswith(SIDECAR_SUFFIX) else sidecar_path(path)
    if not meta_path.is_file():
        return {}
    text = decode_text(_read_bytes(meta_path))
    return _load_mapping(text, f"元数据文件 {meta_path.name} ", 1)
