"""Tables in document text (Markdown pipe tables, e.g. the rate tables annexed to a tax law):
found with their title, header and notes, and cut into chunks of one row each that carry the
table's title (as their section) and its header line, so that every row is retrievable."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from indexer.sentences import MAX_EXCERPT, pack_sentences

NOTES = "注"  # section of a table's notes, under the table's title
UNTITLED = "附表"
_SEPARATOR_CELL = re.compile(r"^:?-{3,}:?$")
_NOTE_START = re.compile(r"^[（(]?注[\d一二三四五六七八九十]*[：:]")
_TITLE_MAX = 60
_CONTEXT_LINES = 3  # short lines before a table that may name it ("附表一", "附：")
_SENTENCE_FINAL = ("。", "；", ";", "，", ",")


@dataclass(frozen=True)
class Table:
    title: str  # the line right before the table, e.g. 个人所得税税率表一（综合所得适用）
    context: str  # the title and the short lines before it, e.g. "附表一 环境保护税税目税额表"
    header: str  # cells joined by " | "
    rows: tuple[str, ...]
    notes: str  # the （注…） paragraphs right after the table


def _cells(line: str) -> list[str] | None:
    """The cells of a pipe-table line, or None if the line is not one."""
    line = line.strip()
    if not line.startswith("|") or line.count("|") < 2:
        return None
    return [c.strip() for c in line.strip("|").split("|")]


def _is_separator(line: str) -> bool:
    cells = _cells(line)
    return bool(cells) and all(_SEPARATOR_CELL.match(c) for c in cells or [])


def _is_title(line: str) -> bool:
    return (
        0 < len(line) <= _TITLE_MAX
        and _cells(line) is None
        and not line.endswith(_SENTENCE_FINAL)
        and not re.match(r"^第[零〇一二三四五六七八九十百千\d]+条", line)
    )


def split_tables(text: str) -> tuple[str, list[Table]]:
    """The text without its tables (their title lines and notes go with them), and the tables."""
    lines = text.replace("\r", "").split("\n")
    keep = [True] * len(lines)
    tables: list[Table] = []
    i = floor = 0  # floor: the first line after the previous table
    while i < len(lines) - 1:
        header = _cells(lines[i])
        if header is None or not _is_separator(lines[i + 1]):
            i += 1
            continue
        start, end = i, i + 2
        rows = []
        while end < len(lines) and (cells := _cells(lines[end])) is not None:
            if any(cells):
                rows.append(" | ".join(cells))
            end += 1
        title, context, first = _title_before(lines, start, floor)
        notes, end = _notes_after(lines, end)
        for j in range(first, end):
            keep[j] = False
        tables.append(Table(title, context, " | ".join(header), tuple(rows), notes))
        i = floor = end
    body = "\n".join(line for line, kept in zip(lines, keep, strict=True) if kept)
    return body, tables


def _title_before(lines: list[str], start: int, floor: int) -> tuple[str, str, int]:
    """Title, context and the first line that belongs to the table (its title line); nothing
    before ``floor`` (the previous table) is looked at."""
    j = start - 1
    while j >= floor and not lines[j].strip():
        j -= 1
    if j < floor or not _is_title(lines[j].strip().lstrip("#").strip()):
        return UNTITLED, "", start
    title = lines[j].strip().lstrip("#").strip()
    context, k = [title], j - 1
    while k >= floor and len(context) < _CONTEXT_LINES:
        line = lines[k].strip()
        if line:
            if not _is_title(line):
                break
            context.insert(0, line)
        k -= 1
    return title, " ".join(context), j


def _notes_after(lines: list[str], end: int) -> tuple[str, int]:
    """The note paragraphs right after a table (a parenthesised （注1：… 注2：…） block counts as
    one), and the line after them."""
    notes: list[str] = []
    depth = 0
    j = end
    while j < len(lines):
        line = lines[j].strip()
        if not line:
            j += 1
            continue
        if depth <= 0 and not _NOTE_START.match(line):
            break
        notes.append(line)
        depth += line.count("（") + line.count("(") - line.count("）") - line.count(")")
        j += 1
        end = j
    return "\n".join(notes), end


def table_windows(table: Table) -> Iterator[tuple[tuple[str, ...], str]]:
    """(heading path, text) of every chunk of a table: one per row, each with the header line,
    and the notes. Every text is at most MAX_EXCERPT characters."""
    header = table.header[: MAX_EXCERPT // 2]
    room = MAX_EXCERPT - len(header) - 1
    for row in table.rows:
        pieces = [row] if len(row) <= room else pack_sentences(row, limit=room, overlap=False)
        for piece in pieces:
            yield (table.title,), f"{header}\n{piece}"
    if table.notes:
        notes = table.notes.replace("\n", "")
        for window in [notes] if len(notes) <= MAX_EXCERPT else pack_sentences(notes):
            yield (table.title, NOTES), window
