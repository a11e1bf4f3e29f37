"""Chunking along the structure of official documents.

Laws: 第X编/章/节 headings and 第N条 articles. Notices: 一、/（一）/1. headings. Interpretation
drafts: 问/答 pairs. Anything else: windows of whole sentences. Tables (indexer/tables.py) become
one chunk per row after the text's chunks, each with the table's title as its section and the
header line in its text. Every chunk keeps its heading path and is at most MAX_EXCERPT characters
of whole sentences.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from indexer.models import Chunk, Kind
from indexer.sentences import MAX_EXCERPT, pack_sentences
from indexer.tables import split_tables, table_windows

SEP = " › "
_CN_NUM = "零〇一二三四五六七八九十百千两"
_LAW_PART = re.compile(rf"^(?:#+\s*)?(第[{_CN_NUM}\d]+[编章节])\s*(.*)$")
_ARTICLE = re.compile(rf"^(第[{_CN_NUM}\d]+条(?:之[{_CN_NUM}]+)?)[\s　]*(.*)$", re.DOTALL)
_MD_HEADING = re.compile(r"^#{1,6}\s+(.*)$")
_NOTICE_LEVELS = (
    re.compile(rf"^[{_CN_NUM}]+、"),
    re.compile(rf"^[（(][{_CN_NUM}]+[）)]"),
    re.compile(r"^\d{1,2}[.．、](?!\d)"),
    re.compile(r"^[（(]\d{1,2}[）)]"),
)
_QUESTION = re.compile(r"^(?:\*\*)?(?:问|Q)\s*[:：]\s*(.*?)(?:\*\*)?$", re.DOTALL)
_ANSWER = re.compile(r"^(?:答|A)\s*[:：]\s*(.*)$", re.DOTALL)
_SENTENCE_FINAL = ("。", "！", "？", "；", "：", "”", "」", "）", ")", "!", "?", ";", ":")
_LAW_INFO_END = "<!-- INFO END -->"
_MAX_SECTION = 60
_MIN_BROKEN = 40  # a shorter unterminated line is a header or signature line, not a broken one
_CLOSING_LINE = 30  # signature, date, 信息公开选项 and 印发 lines are short


@dataclass(frozen=True)
class Section:
    path: tuple[str, ...]
    text: str


def chunk_id(doc_id: str, ordinal: int, text: str) -> int:
    """Stable 63-bit id of a chunk, used as its FAISS id as well."""
    digest = hashlib.blake2b(f"{doc_id}\x1f{ordinal}\x1f{text}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


def _paragraphs(text: str) -> list[str]:
    """Paragraphs separated by blank lines or single line breaks, markdown noise removed."""
    lines = [line.strip().strip("　") for line in text.replace("\r", "").split("\n")]
    return [line for line in lines if line and not line.startswith("<!--")]


def _rejoin_broken(paragraphs: list[str], is_heading: re.Pattern[str] | None = None) -> list[str]:
    """Join a paragraph cut mid-sentence (a line break inside a sentence, e.g. from a PDF)."""
    out: list[str] = []
    for para in paragraphs:
        starts_new = is_heading is not None and bool(is_heading.match(para))
        if (
            out
            and len(out[-1]) >= _MIN_BROKEN
            and not out[-1].endswith(_SENTENCE_FINAL)
            and not starts_new
            and not _looks_like_heading(out[-1])
            and not out[-1].startswith("#")  # a Markdown title is not a broken line
        ):
            out[-1] += para
        else:
            out.append(para)
    return out


def _looks_like_heading(para: str) -> bool:
    return (
        any(level.match(para) for level in _NOTICE_LEVELS)
        and len(para) <= 40
        and not para.endswith(("。", "；", ";"))  # a short list item is text, not a heading
    )


def law_sections(text: str) -> list[Section]:
    body = text.split(_LAW_INFO_END, 1)[1] if _LAW_INFO_END in text else text
    parts: dict[str, str] = {}  # level char (编/章/节) -> heading
    sections: list[Section] = []
    article: str | None = None
    lines: list[str] = []

    def flush() -> None:
        if article is not None and lines:
            heads = tuple(parts[k] for k in "编章节" if k in parts)
            sections.append(Section((*heads, article), "\n".join(lines)))

    for para in _paragraphs(body):
        if m := _LAW_PART.match(para):
            flush()
            article, lines = None, []
            level = m[1][-1]
            for lower in "编章节"["编章节".index(level) :]:
                parts.pop(lower, None)
            parts[level] = re.sub(r"\s+", " ", f"{m[1]} {m[2]}".strip())
            continue
        if (m := _MD_HEADING.match(para)) and not _ARTICLE.match(m[1]):
            continue  # the title
        if m := _ARTICLE.match(para):
            flush()
            article, lines = m[1], [para]
        elif article is not None:
            lines.append(para)
    flush()
    return sections


def notice_sections(text: str) -> list[Section]:
    heading_any = re.compile("|".join(p.pattern for p in _NOTICE_LEVELS))
    paragraphs = _rejoin_broken(_paragraphs(text), heading_any)
    closing: list[str] = []
    while (
        len(paragraphs) > 1
        and len(paragraphs[-1]) <= _CLOSING_LINE
        and not heading_any.match(paragraphs[-1])
    ):
        closing.insert(0, paragraphs.pop())
    path: list[tuple[int, str]] = []
    sections: list[Section] = []
    for para in paragraphs:
        level = next((i for i, p in enumerate(_NOTICE_LEVELS) if p.match(para)), None)
        if level is None:
            heads = tuple(h for _, h in path) or ("正文",)
            sections.append(Section(heads, para))
            continue
        first, _, rest = para.partition("。") if not _looks_like_heading(para) else (para, "", "")
        heading = re.sub(r"[\s　]+", "", first).rstrip("：:")[:_MAX_SECTION]
        path = [(lvl, h) for lvl, h in path if lvl < level] + [(level, heading)]
        if not _looks_like_heading(para):  # a one-sentence item is text too, never dropped
            sections.append(Section(tuple(h for _, h in path), para))
    if closing:
        sections.append(Section(("落款",), "\n".join(closing)))
    return _merge_same_path(sections)


def qa_sections(text: str) -> list[Section]:
    sections: list[Section] = []
    question: str | None = None
    answer: list[str] = []
    for para in _paragraphs(text):
        md = _MD_HEADING.match(para)
        q = _QUESTION.match(para) or (md if md and md[1].rstrip().endswith(("？", "?")) else None)
        if q:
            if question and answer:
                sections.append(Section((question,), "\n".join(answer)))
            question, answer = q[1].strip()[:_MAX_SECTION], []
        elif md:
            continue
        elif question is not None:
            a = _ANSWER.match(para)
            answer.append(a[1].strip() if a else para)
    if question and answer:
        sections.append(Section((question,), "\n".join(answer)))
    return sections


def _merge_same_path(sections: list[Section]) -> list[Section]:
    merged: list[Section] = []
    for s in sections:
        if merged and merged[-1].path == s.path:
            merged[-1] = Section(s.path, merged[-1].text + "\n" + s.text)
        else:
            merged.append(s)
    return merged


def document_sections(text: str, kind: Kind) -> list[Section]:
    """The structural sections of a document, most specific structure first."""
    if kind == Kind.INTERPRETATION and (qa := qa_sections(text)):
        return qa
    if (law := law_sections(text)) and len(law) >= 2:
        return law
    return notice_sections(text)


def _windows(section: Section) -> Iterator[str]:
    if len(section.text) <= MAX_EXCERPT:
        yield section.text
    else:
        yield from pack_sentences(section.text.replace("\n", ""), limit=MAX_EXCERPT)


def chunk_document(doc_id: str, text: str, kind: Kind) -> list[Chunk]:
    body, tables = split_tables(text)
    windows = [
        (SEP.join(section.path), window)
        for section in document_sections(body, kind)
        for window in _windows(section)
    ]
    windows += [(SEP.join(path), w) for table in tables for path, w in table_windows(table)]
    return [
        Chunk(
            id=chunk_id(doc_id, ordinal, window),
            doc_id=doc_id,
            section=label,
            text=window,
            ordinal=ordinal,
        )
        for ordinal, (label, window) in enumerate(windows)
    ]
