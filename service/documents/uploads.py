"""An uploaded document file → its checked bytes and extracted text, or a Chinese refusal that
names the file: 413 over the size limit, 415 for an unsupported type or content that is not what
the extension says, 422 when no text can be taken from it. The text is extracted by the
indexer's readers (indexer/readers.py ``read_data``), exactly as a folder file would be."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from indexer.metadata import extract_metadata
from indexer.readers import SUFFIXES, ReadError, decode_text, read_data, split_front_matter
from service.problems import Invalid, TooLarge, UnsupportedFile

FRONT_MATTER_SUFFIXES = (".md", ".txt")
TEXT_SUFFIXES = (".md", ".txt", ".html", ".htm")
MAX_NAME = 200


@dataclass(frozen=True)
class DocFile:
    name: str
    suffix: str  # ".docx", ".pdf", …
    data: bytes
    text: str  # the extracted, normalised body (front matter removed)
    sha256: str
    # Metadata the file itself carries: front matter, else what the text says (title, 发文字号…).
    found: dict[str, Any]


def _mb(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB" if size >= 1024 else f"{size} 字节"
    return f"{size / 1048576:.1f} MB"


def _name(file_name: str) -> str:
    name = PurePath((file_name or "").replace("\\", "/")).name.strip()
    if not name:
        raise Invalid("文件 file：缺少文件名")
    return name[:MAX_NAME]


def _sniff(name: str, suffix: str, data: bytes) -> None:
    """415 when the content is not what the extension says."""
    if suffix == ".docx":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                ok = "word/document.xml" in archive.namelist()
        except (zipfile.BadZipFile, ValueError, OSError):
            ok = False
        if not ok:
            raise UnsupportedFile(
                f"文件“{name}”不是有效的 Word（.docx）文件：内容不是 .docx 格式"
                "（旧版 .doc 或设置了密码的文件请用 Word 另存为 .docx）"
            )
    elif suffix == ".pdf":
        if not data.startswith(b"%PDF-"):
            raise UnsupportedFile(f"文件“{name}”不是有效的 PDF 文件：内容不以 %PDF- 开头")
    elif suffix in TEXT_SUFFIXES:
        if (
            suffix in (".md", ".txt")
            and b"\x00" in data
            and not data.startswith((b"\xff\xfe", b"\xfe\xff"))
        ):
            raise UnsupportedFile(f"文件“{name}”不是文本文件：含有二进制内容（NUL 字节）")
        try:
            decode_text(data)
        except ReadError as exc:
            raise UnsupportedFile(f"文件“{name}”不是可读的文本文件：{exc}") from None


def read_upload(file_name: str, data: bytes, *, max_bytes: int) -> DocFile:
    """The checked file; nothing is stored by this function."""
    name = _name(file_name)
    if len(data) > max_bytes:
        raise TooLarge(f"文件“{name}”大小 {_mb(len(data))}，超过上限 {_mb(max_bytes)}")
    if not data:
        raise Invalid(f"文件“{name}”是空文件")
    suffix = PurePath(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise UnsupportedFile(
            f"文件“{name}”的类型“{suffix or '（没有扩展名）'}”不受支持，可上传 {' '.join(SUFFIXES)}"
        )
    _sniff(name, suffix, data)
    try:
        text = read_data(data, suffix)
        front: dict[str, Any] = {}
        if suffix in FRONT_MATTER_SUFFIXES:
            front, text = split_front_matter(text)
    except ReadError as exc:
        raise Invalid(f"文件“{name}”：{exc}") from None
    text = text.strip()
    if not text:
        raise Invalid(f"文件“{name}”：没有可提取的正文")
    found: dict[str, Any] = {**extract_metadata(text), **front}
    if not found.get("title"):  # as the folder does: the first heading, else the file's name
        heading = next((line for line in text.splitlines() if line.strip()), "")
        found["title"] = (
            heading.lstrip("# ").strip()[:300] if heading.startswith("#") else (PurePath(name).stem)
        )
    return DocFile(
        name=name,
        suffix=suffix,
        data=data,
        text=text,
        sha256=hashlib.sha256(data).hexdigest(),
        found=found,
    )
