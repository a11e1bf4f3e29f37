"""Annexes a document refers to (税率表附后, 本法所附《…表》, 附：…, 见附件1) and which of them its
text does not contain: a law whose rate table is missing answers rate questions badly, so the
build reports it and the service says where the official text is."""

from __future__ import annotations

import re

from indexer.tables import Table, split_tables

_THIS = r"本(?:法|条例|办法|规定|细则|决定|通知|意见)"
_NAMED = re.compile(rf"{_THIS}(?:及)?所附(?:的)?((?:《[^《》]{{2,40}}》[、和及]?)+)")
_UNNAMED = re.compile(
    rf"{_THIS}(?:及)?所附(?:的)?([^\s《》，。；、（）()]{{2,20}}?(?:表|清单|目录))"
)
_ATTACHED_AFTER = re.compile(r"([^\s《》，。；、（）()]{0,12}表)附后")
_SEE_ANNEX = re.compile(r"(?:见|详见)附件\s*([\d一二三四五六七八九十]*)")
_ANNEX_LINE = re.compile(r"^(?:附|附件\s*[\d一二三四五六七八九十]*)\s*[：:]\s*(.*)$")
_TITLE_IN_BRACKETS = re.compile(r"《([^《》]+)》")
_TABLE_LIKE = ("表", "税则", "清单", "目录")
_MIN_ANNEX_TEXT = 100  # characters under an annex heading that make it present


def referenced_annexes(text: str) -> list[str]:
    """Names of the annexes and tables a document says it carries, in order of first mention."""
    flat = re.sub(r"\s*\n\s*", "", text)  # references may be wrapped across lines
    names: list[str] = []
    for m in _NAMED.finditer(flat):
        names += _TITLE_IN_BRACKETS.findall(m[1])
    names += [m[1] for m in _UNNAMED.finditer(flat)]
    names += [m[1] for m in _ATTACHED_AFTER.finditer(flat)]
    names += [f"附件{m[1]}" for m in _SEE_ANNEX.finditer(flat)]
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    for i, line in enumerate(lines):
        if heading := _ANNEX_LINE.match(line):
            rest = heading[1] or (lines[i + 1] if i + 1 < len(lines) else "")
            name = re.split(r"[（(]", rest, maxsplit=1)[0].strip("《》 ")
            if name:
                names.append(name)
    return list(dict.fromkeys(n for n in names if n))


def _present(name: str, body: str, tables: list[Table]) -> bool:
    if any(name in t.context for t in tables):
        return True
    if name.endswith(_TABLE_LIKE):
        return False  # a table is present only as a table, not as a title line
    # A document annex (附件1 …): a heading line naming it, with text under it.
    lines = [line.strip() for line in body.split("\n") if line.strip()]
    for i, line in enumerate(lines):
        heading = name in line and len(line) <= 60 and not _ANNEX_LINE.match(line)
        if heading and sum(len(x) for x in lines[i + 1 :]) >= _MIN_ANNEX_TEXT:
            return True
    return False


def missing_annexes(text: str) -> list[str]:
    """The annexes a document refers to that its text does not contain."""
    names = referenced_annexes(text)
    if not names:
        return []
    body, tables = split_tables(text)
    return [name for name in names if not _present(name, body, tables)]
