"""Load curated FAQ pairs from ``faq/*.yaml|yml|csv|xlsx`` (see docs/knowledge-format.md).

A broken entry becomes a :class:`LoadProblem` ("第N条：…") and the file's other entries still load;
a broken file (bad YAML, not a list, corrupt workbook, missing column) is one problem and no entries.
Cross-file checks (unknown or non-public source documents, ids shared between files) are the
caller's job.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from indexer.models import FaqEntry, LoadProblem, SourceRef
from indexer.readers import ReadError, decode_text

__all__ = ["FAQ_SUFFIXES", "TABLE_COLUMNS", "load_faq_file"]

FAQ_SUFFIXES = frozenset({".yaml", ".yml", ".csv", ".xlsx"})
TABLE_COLUMNS = (
    "id",
    "question",
    "variants",
    "answer",
    "category",
    "source_doc_id",
    "source_article",
    "reviewed",  # optional extra: 是/否, true/false, 1/0
)
_REQUIRED_COLUMNS = ("id", "question", "answer")
_YAML_KEYS = frozenset({"id", "question", "variants", "answer", "category", "sources", "source"})
_YAML_KEYS |= {"reviewed"}
_LIST_SPLIT = re.compile(r"[|｜\n]")  # variants and sources: `|` (also full-width) or line breaks
_TRUE = frozenset({"true", "yes", "y", "1", "是", "已审核", "√"})
_FALSE = frozenset({"false", "no", "n", "0", "否", "未审核", ""})
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


class _FileError(Exception):
    """The whole file is unusable."""


class _Invalid:
    """A value that a table row could not turn into a field; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _EntryError(Exception):
    def __init__(self, reasons: list[str]) -> None:
        super().__init__("；".join(reasons))


# A record to validate: its label ("第3条" / "第3条（第4行）") and its mapping.
_Record = tuple[str, object]


def load_faq_file(path: Path, rel: str) -> tuple[list[FaqEntry], list[LoadProblem]]:
    """The FAQ entries of one file and the problems found in it (``rel`` names it in both)."""
    suffix = path.suffix.lower()
    notes: list[str] = []
    try:
        if suffix in (".yaml", ".yml"):
            records = _yaml_records(path)
        elif suffix == ".csv":
            records = _table_records(_csv_rows(path), notes)
        elif suffix == ".xlsx":
            records = _table_records(_xlsx_rows(path), notes)
        else:
            raise _FileError(f"不支持的 FAQ 文件类型：{suffix or '（没有扩展名）'}")
    except _FileError as exc:
        return [], [LoadProblem(path=rel, reason=str(exc))]
    entries, problems = _entries(records, rel)
    return entries, [LoadProblem(rel, note, fatal=False) for note in notes] + problems


# ---------------------------------------------------------------- validation


def _entries(records: Iterable[_Record], rel: str) -> tuple[list[FaqEntry], list[LoadProblem]]:
    entries: list[FaqEntry] = []
    problems: list[LoadProblem] = []
    first_label: dict[str, str] = {}
    count = 0
    for label, item in records:
        count += 1
        entry_id = _peek_id(item)
        where = f"{label}（id: {entry_id}）" if entry_id else label
        unknown = sorted(set(item) - _YAML_KEYS) if isinstance(item, dict) else []
        if unknown:
            problems.append(
                LoadProblem(rel, f"{where}：未知字段 {'、'.join(map(str, unknown))} 已忽略", False)
            )
        try:
            entry = _entry(item, rel)
        except _EntryError as exc:
            problems.append(LoadProblem(rel, f"{where}：{exc}"))
            continue
        if entry.id in first_label:
            problems.append(LoadProblem(rel, f"{where}：id 与{first_label[entry.id]}重复"))
            continue
        first_label[entry.id] = label
        entries.append(entry)
    if count == 0:
        problems.append(LoadProblem(rel, "FAQ 文件中没有任何条目", fatal=False))
    return entries, problems


def _peek_id(item: object) -> str | None:
    if isinstance(item, dict):
        value = item.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _entry(item: object, rel: str) -> FaqEntry:
    if not isinstance(item, dict):
        raise _EntryError([f"应为“键: 值”形式的条目，实际是{_kind(item)}"])
    reasons: list[str] = []
    entry_id = _text(item, "id", reasons, required=True)
    question = _text(item, "question", reasons, required=True)
    answer = _text(item, "answer", reasons, required=True)
    category = _text(item, "category", reasons)
    variants = _variants(item.get("variants"), question or "", reasons)
    sources = _sources(item, reasons)
    reviewed = item.get("reviewed", False)
    if reviewed is None:
        reviewed = False
    if not isinstance(reviewed, bool):
        reasons.append(f"reviewed 应为 true 或 false，实际是“{reviewed}”")
    if reasons or not entry_id or not question or not answer:
        raise _EntryError(reasons)
    return FaqEntry(
        id=entry_id,
        question=question,
        answer=answer,
        variants=variants,
        category=category,
        sources=sources,
        reviewed=bool(reviewed),
        path=rel,
    )


_NAMES = {
    "id": "编号 id",
    "question": "问题 question",
    "answer": "答案 answer",
    "category": "分类 category",
    "doc_id": "来源文件 doc_id",
    "article": "来源条款 article",
}


def _text(item: dict[Any, Any], key: str, reasons: list[str], required: bool = False) -> str | None:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float | dt.date | None):
        reasons.append(f"{_NAMES[key]} 应为文字，实际是{_kind(value)}")
        return None
    text = _clean(value.isoformat() if isinstance(value, dt.date) else value)
    if not text and required:
        reasons.append(f"缺少{_NAMES[key]}")
    return text or None


def _clean(value: object) -> str:
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def _variants(value: object, question: str, reasons: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = list(_LIST_SPLIT.split(value))
    elif isinstance(value, list):
        items = value
    else:
        reasons.append(f"variants 应为问法列表，实际是{_kind(value)}")
        return ()
    seen = {question}
    out: list[str] = []
    for number, raw in enumerate(items, start=1):
        if isinstance(raw, bool) or not isinstance(raw, str | int | float | None):
            reasons.append(f"variants 第{number}项应为文字，实际是{_kind(raw)}")
            continue
        text = " ".join(_clean(raw).split())
        if text and text not in seen:
            seen.add(text)
            out.append(text)
    return tuple(out)


def _sources(item: dict[Any, Any], reasons: list[str]) -> tuple[SourceRef, ...]:
    raw: list[object] = []
    for key in ("source", "sources"):
        value = item.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            raw.extend(value)
        elif isinstance(value, dict | str):
            raw.append(value)
        else:
            reasons.append(f"{key} 应为来源列表（doc_id、article），实际是{_kind(value)}")
    refs: list[SourceRef] = []
    for number, value in enumerate(raw, start=1):
        if isinstance(value, _Invalid):
            reasons.append(value.reason)
            continue
        if isinstance(value, str):
            value = {"doc_id": value}
        if not isinstance(value, dict):
            reasons.append(f"来源第{number}项应为 doc_id、article 的映射，实际是{_kind(value)}")
            continue
        extra = sorted(set(map(str, value)) - {"doc_id", "article"})
        if extra:
            reasons.append(f"来源第{number}项有未知字段 {'、'.join(extra)}")
        found: list[str] = []
        doc_id = _text(value, "doc_id", found, required=True)
        article = _text(value, "article", found)
        reasons.extend(f"来源第{number}项{reason}" for reason in found)
        if doc_id and not found:
            ref = SourceRef(doc_id=doc_id, article=article)
            if ref not in refs:
                refs.append(ref)
    return tuple(refs)


def _kind(value: object) -> str:
    if value is None:
        return "空值"
    if isinstance(value, bool):
        return f"真假值 {str(value).lower()}"
    if isinstance(value, list):
        return "列表"
    if isinstance(value, dict):
        return "映射"
    if isinstance(value, str):
        return "文字"
    if isinstance(value, int | float):
        return f"数字 {value}"
    if isinstance(value, dt.date):
        return f"日期 {value.isoformat()}"
    return type(value).__name__


# ---------------------------------------------------------------- YAML


def _yaml_records(path: Path) -> list[_Record]:
    try:
        text = decode_text(path.read_bytes())
    except (OSError, ReadError) as exc:
        raise _FileError(f"无法读取 FAQ 文件：{exc}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"第{mark.line + 1}行" if mark is not None else "位置未知"
        problem = getattr(exc, "problem", None) or str(exc)
        raise _FileError(f"不是有效的 YAML（{line}）：{problem}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise _FileError(f"FAQ 文件应为条目列表（每条以“- id:”开头），实际是{_kind(data)}")
    return [(f"第{n}条", item) for n, item in enumerate(data, start=1)]


# ---------------------------------------------------------------- CSV / XLSX


def _csv_rows(path: Path) -> Iterator[Sequence[object]]:
    try:
        text = decode_text(path.read_bytes())
    except (OSError, ReadError) as exc:
        raise _FileError(f"无法读取 CSV 文件：{exc}") from exc
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise _FileError(f"CSV 格式有误：{exc}") from exc
    yield from rows


def _xlsx_rows(path: Path) -> Iterator[Sequence[object]]:
    import openpyxl

    try:
        head = path.read_bytes()[:8]
    except OSError as exc:
        raise _FileError(f"无法读取 Excel 文件：{exc.strerror or exc}") from exc
    if head.startswith(_OLE_MAGIC):
        raise _FileError(
            "无法读取 Excel 文件：这是旧版 .xls 格式或设置了打开密码，请用 Excel 另存为 .xlsx"
        )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles/extensions it ignores
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # zip, XML, KeyError, InvalidFileException, ...
            raise _FileError("无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式") from exc
        try:
            if not book.worksheets:
                raise _FileError("Excel 文件中没有工作表")
            rows = [list(row) for row in book.worksheets[0].iter_rows(values_only=True)]
        except _FileError:
            raise
        except Exception as exc:
            raise _FileError("无法读取 Excel 文件：第一个工作表已损坏") from exc
        finally:
            book.close()
    yield from rows


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return _clean(value)


def _table_records(rows: Iterator[Sequence[object]], notes: list[str]) -> list[_Record]:
    """Header row plus data rows → (label, YAML-like mapping); row numbers as Excel shows them."""
    header: list[str] | None = None
    records: list[_Record] = []
    for row_number, row in enumerate(rows, start=1):
        cells = [_cell(value) for value in row]
        if not any(cells):
            continue
        if header is None:
            header = _header(cells)
            unknown = [name for name in header if name and name not in TABLE_COLUMNS]
            if unknown:
                notes.append(f"未知的列 {'、'.join(unknown)} 已忽略")
            continue
        label = f"第{len(records) + 1}条（第{row_number}行）"
        records.append((label, _row_mapping(header, cells)))
    if header is None:
        raise _FileError(f"缺少标题行：第一行应为列名 {', '.join(TABLE_COLUMNS[:-1])}")
    return records


def _header(cells: list[str]) -> list[str]:
    header = [cell.strip().lstrip("\ufeff").lower() for cell in cells]
    named = [name for name in header if name]
    duplicates = sorted({name for name in named if named.count(name) > 1})
    if duplicates:
        raise _FileError(f"标题行中的列名重复：{'、'.join(duplicates)}")
    missing = [name for name in _REQUIRED_COLUMNS if name not in header]
    if missing:
        raise _FileError(
            f"缺少必需的列：{'、'.join(missing)}（标题行应为 {', '.join(TABLE_COLUMNS[:-1])}）"
        )
    return header


def _row_mapping(header: list[str], cells: list[str]) -> dict[str, object]:
    values: dict[str, str] = {}
    extra: list[str] = []
    for index, cell in enumerate(cells):
        name = header[index] if index < len(header) else ""
        if name in TABLE_COLUMNS:
            values[name] = cell
        elif cell and not name:
            extra.append(cell)
    item: dict[str, object] = {
        key: values[key] or None
        for key in ("id", "question", "answer", "category")
        if key in values
    }
    item["variants"] = values.get("variants", "")
    item["sources"] = _table_sources(
        values.get("source_doc_id", ""), values.get("source_article", "")
    )
    flag = values.get("reviewed", "").strip().lower()
    item["reviewed"] = True if flag in _TRUE else False if flag in _FALSE else flag
    if extra:
        item["无列名的单元格"] = extra  # reported as an unknown field
    return item


def _table_sources(doc_ids: str, articles: str) -> list[object]:
    """Pair ``a|b`` with ``第一条|第二条`` by position; one document may take several articles."""
    docs = [part.strip() for part in _LIST_SPLIT.split(doc_ids)]
    arts = [part.strip() for part in _LIST_SPLIT.split(articles)]
    while docs and not docs[-1]:
        docs.pop()
    while arts and not arts[-1]:
        arts.pop()
    if len(docs) == 1 and len(arts) > 1:
        docs = docs * len(arts)
    if len(arts) > len(docs):
        reason = f"source_article 有{len(arts)}项，source_doc_id 只有{len(docs)}项，无法配对"
        return [_Invalid(reason)]
    arts += [""] * (len(docs) - len(arts))
    return [
        {"doc_id": doc or None, "article": art or None} for doc, art in zip(docs, arts, strict=True)
    ]
