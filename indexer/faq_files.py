"""The FAQ file format (docs/knowledge-format.md): ``faq/*.yaml|yml|csv|xlsx`` of the knowledge
folder and the files staff upload and download are read by one code path and written so that
reading gives the same entries back.

Reading: bytes → records (YAML entries, or table rows through indexer/faq_tables.py) → one
validation → :class:`FaqEntry` objects, and a :class:`RowError` (row, column, reason) for each
problem of the other records.

- :func:`load_faq_file`, the knowledge folder: a bad record is a :class:`LoadProblem` and the file's
  other records still load; a broken file is one problem and no entries.
- :func:`parse_faq_upload`, an upload: good rows and row errors for the caller to decide (nothing,
  or the good rows); a file that is too large, not what its extension says, without the required
  columns, without rows or with an id used twice raises :class:`FaqFileError`.
- :func:`dump_faq_yaml`, :func:`dump_faq_table`: the writers.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from indexer import faq_tables
from indexer.faq_tables import CHINESE_COLUMNS, TABLE_COLUMNS, TableError
from indexer.models import FaqEntry, LoadProblem, SourceRef

__all__ = [
    "CHINESE_COLUMNS",
    "FAQ_SUFFIXES",
    "TABLE_COLUMNS",
    "FaqFileError",
    "FaqRow",
    "FaqUpload",
    "RowError",
    "dump_faq",
    "dump_faq_table",
    "dump_faq_yaml",
    "load_faq_file",
    "parse_faq_upload",
]

FAQ_SUFFIXES = frozenset({".yaml", ".yml", ".csv", ".xlsx"})
MAX_ID_LENGTH = 80
_YAML_KEYS = frozenset(
    {"id", "question", "variants", "answer", "category", "sources", "source"}
    | {"effective_from", "expires_on", "reviewed"}
)
_TRUE = frozenset({"true", "yes", "y", "1", "是", "已审核", "√"})
_FALSE = frozenset({"false", "no", "n", "0", "否", "未审核", ""})
_REQUIRED_NAMES = {"id": "编号", "question": "问题", "answer": "答案"}
_DATE_FORMS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日"),
)
# Control characters but tab and line feed, line/paragraph separators, surrogates, non-characters:
# none can be kept in every layout (XML forbids most of them in .xlsx).
_BAD_CHARS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff\ufffe\uffff]")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when built with it


class FaqFileError(Exception):
    """The whole file is unusable; the message (Chinese) names the reason."""


@dataclass(frozen=True)
class RowError:
    """One problem of one record: ``row`` is the row as Excel numbers it (tables, unit 行) or the
    entry's number (YAML, unit 条); ``column`` as the file names it, empty for the whole record."""

    row: int
    column: str
    reason: str
    entry_id: str | None = None
    unit: str = "行"

    def __str__(self) -> str:
        return self.describe(with_id=False)

    def describe(self, *, with_id: bool = True) -> str:
        where = f"第{self.row}{self.unit}"
        if with_id and self.entry_id:
            where += f"（id: {self.entry_id}）"
        if self.column:
            where += f"「{self.column}」{'列' if self.unit == '行' else '字段'}"
        return f"{where}：{self.reason}"


@dataclass(frozen=True)
class FaqRow:
    """A good record: its row (or entry number) in the file and the entry."""

    row: int
    entry: FaqEntry


@dataclass
class FaqUpload:
    entries: list[FaqRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # ignored columns or fields

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True)
class _Record:
    row: int
    item: object
    columns: Mapping[str, str]  # field key → how the file names it (tables)


@dataclass
class _Parsed:
    """What one reading of a file found; the entry points decide what a duplicate id means."""

    entries: list[FaqRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duplicates: list[RowError] = field(default_factory=list)  # an earlier record has the id
    first_row: dict[str, int] = field(default_factory=dict)  # id → where it first appears


# ---------------------------------------------------------------- reading: the entry points


def load_faq_file(path: Path, rel: str) -> tuple[list[FaqEntry], list[LoadProblem]]:
    """The FAQ entries of one knowledge file and its problems (``rel`` names it in both)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [], [LoadProblem(rel, f"无法读取 FAQ 文件：{exc.strerror or exc}")]
    try:
        parsed = _parse(data, path.name, None)
    except FaqFileError as exc:
        return [], [LoadProblem(rel, str(exc))]
    problems = [LoadProblem(rel, note, fatal=False) for note in parsed.warnings]
    problems += [LoadProblem(rel, e.describe()) for e in _by_row(parsed.errors + parsed.duplicates)]
    if not parsed.entries and not parsed.errors and not parsed.duplicates:
        problems.append(LoadProblem(rel, "FAQ 文件中没有任何条目", fatal=False))
    entries = [_with_path(row.entry, rel) for row in parsed.entries]
    return entries, problems


def parse_faq_upload(
    data: bytes,
    filename: str,
    categories: Collection[str] | None,
    *,
    max_bytes: int | None = None,
) -> FaqUpload:
    """An uploaded .xlsx/.csv/.yaml file: its good rows and the row errors of the others.

    ``categories``: the allowed values of ``category`` (None: any). Entries carry ``path`` =
    ``filename``. Raises :class:`FaqFileError` when the file as a whole cannot be used.
    """
    if max_bytes is not None and len(data) > max_bytes:
        raise FaqFileError(
            f"文件过大：{_size(len(data))}，上限为 {_size(max_bytes)}；请分成几个文件上传"
        )
    parsed = _parse(data, filename, categories)
    if parsed.duplicates:
        raise FaqFileError(_duplicates_message(parsed.duplicates, parsed.first_row))
    if not parsed.entries and not parsed.errors:
        raise FaqFileError("文件中没有任何 FAQ 条目")
    entries = [FaqRow(r.row, _with_path(r.entry, filename)) for r in parsed.entries]
    return FaqUpload(entries=entries, errors=parsed.errors, warnings=parsed.warnings)


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB"
    return f"{count / 1024:.1f} KB" if count >= 1024 else f"{count} 字节"


def _duplicates_message(duplicates: list[RowError], first_row: Mapping[str, int]) -> str:
    rows: dict[str, list[int]] = {}
    for error in duplicates:
        entry_id = error.entry_id or ""
        rows.setdefault(entry_id, [first_row[entry_id]]).append(error.row)
    unit = duplicates[0].unit
    parts = [
        f"{entry_id}（第{'、'.join(map(str, sorted(numbers)))}{unit}）"
        for entry_id, numbers in rows.items()
    ]
    return f"文件中有重复的 id：{'；'.join(parts)}。每个 id 只能出现一次，请合并或改名后重新上传"


def _with_path(entry: FaqEntry, path: str) -> FaqEntry:
    return FaqEntry(**{**entry.__dict__, "path": path})


def _by_row(errors: list[RowError]) -> list[RowError]:
    return sorted(errors, key=lambda e: e.row)


def _parse(data: bytes, filename: str, categories: Collection[str] | None) -> _Parsed:
    suffix = Path(filename).suffix.lower()
    notes: list[str] = []
    try:
        if suffix in (".yaml", ".yml"):
            records = _yaml_records(faq_tables.decode(data, suffix))
        elif suffix == ".csv":
            records, notes = _table_records(faq_tables.csv_rows(data))
        elif suffix == ".xlsx":
            records, notes = _table_records(faq_tables.xlsx_rows(data))
        else:
            allowed = "、".join(sorted(FAQ_SUFFIXES))
            raise FaqFileError(
                f"不支持的 FAQ 文件类型：{suffix or '（没有扩展名）'}（可用 {allowed}）"
            )
    except TableError as exc:
        raise FaqFileError(str(exc)) from exc
    parsed = _Parsed()
    parsed.warnings.extend(notes)
    _validate(records, "条" if suffix in (".yaml", ".yml") else "行", categories, parsed)
    return parsed


# ---------------------------------------------------------------- validation (every layout)

# A problem found while reading a record: the field key (e.g. "answer", "sources.doc_id") and why.
_Problem = tuple[str, str]


def _validate(
    records: Iterable[_Record],
    unit: str,
    categories: Collection[str] | None,
    out: _Parsed,
) -> None:
    first_row = out.first_row
    for record in records:
        entry_id = _peek_id(record.item)
        unknown: list[str] = []
        if isinstance(record.item, dict):
            unknown = sorted(map(str, set(record.item) - _YAML_KEYS))
        if unknown:
            where = f"第{record.row}{unit}" + (f"（id: {entry_id}）" if entry_id else "")
            out.warnings.append(f"{where}：未知字段 {'、'.join(unknown)} 已忽略")
        if entry_id is not None and entry_id in first_row:
            reason = f"与第{first_row[entry_id]}{unit}的 id 重复"
            out.duplicates.append(
                RowError(record.row, _column("id", record), reason, entry_id, unit)
            )
            continue
        if entry_id is not None:
            first_row[entry_id] = record.row
        problems: list[_Problem] = []
        entry = _entry(record.item, problems, categories)
        if problems or entry is None:
            out.errors.extend(
                RowError(record.row, _column(key, record), reason, entry_id, unit)
                for key, reason in problems
            )
        else:
            out.entries.append(FaqRow(record.row, entry))


def _column(key: str, record: _Record) -> str:
    return record.columns.get(key) or key.split(".")[0]


def _peek_id(item: object) -> str | None:
    if isinstance(item, dict):
        value = item.get("id")
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return str(value).strip()
    return None


def _entry(
    item: object, problems: list[_Problem], categories: Collection[str] | None
) -> FaqEntry | None:
    if not isinstance(item, dict):
        problems.append(("", f"应为“键: 值”形式的条目，实际是{_kind(item)}"))
        return None
    entry_id = _text(item, "id", problems, required=True)
    if entry_id and (len(entry_id) > MAX_ID_LENGTH or re.search(r"[\s/]", entry_id)):
        problems.append(("id", f"编号不能含空白或“/”，最长 {MAX_ID_LENGTH} 个字符"))
    question = _text(item, "question", problems, required=True)
    variants = _variants(item.get("variants"), question or "", problems)
    answer = _text(item, "answer", problems, required=True)
    category = _text(item, "category", problems)
    if category and categories is not None and category not in categories:
        allowed = "、".join(sorted(categories)) or "（没有可用的分类）"
        problems.append(("category", f"未知的分类“{category}”，应为：{allowed}"))
    sources = _sources(item, problems)
    effective_from = _date(item, "effective_from", problems)
    expires_on = _date(item, "expires_on", problems)
    if effective_from and expires_on and expires_on <= effective_from:
        problems.append(("expires_on", f"失效日期 {expires_on} 应晚于生效日期 {effective_from}"))
    reviewed = _flag(item.get("reviewed"), problems)
    if problems or not entry_id or not question or not answer:
        return None
    return FaqEntry(
        id=entry_id,
        question=question,
        answer=answer,
        variants=variants,
        category=category,
        sources=sources,
        reviewed=reviewed,
        effective_from=effective_from,
        expires_on=expires_on,
    )


def _text(
    item: Mapping[Any, Any], key: str, problems: list[_Problem], required: bool = False
) -> str | None:
    value = item.get(key)
    if isinstance(value, bool) or not isinstance(value, str | int | float | dt.date | None):
        problems.append((key, f"应为文字，实际是{_kind(value)}"))
        return None
    text = faq_tables.clean(value.isoformat() if isinstance(value, dt.date) else value)
    if not text:
        if required:
            problems.append((key, f"{_REQUIRED_NAMES.get(key, key)}不能为空"))
        return None
    bad = _bad_char(text)
    if bad:
        problems.append((key, f"含有不可见的控制字符 U+{ord(bad):04X}，请删除"))
        return None
    return text


def _bad_char(text: str) -> str | None:
    match = _BAD_CHARS.search(text)
    return match.group() if match else None


def _variants(value: object, question: str, problems: list[_Problem]) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[object] = list(faq_tables.split_list(value))
    elif isinstance(value, list):
        items = value
    else:
        problems.append(("variants", f"应为问法列表，实际是{_kind(value)}"))
        return ()
    seen = {question}
    out: list[str] = []
    for number, raw in enumerate(items, start=1):
        if isinstance(raw, bool) or not isinstance(raw, str | int | float | None):
            problems.append(("variants", f"第{number}项应为文字，实际是{_kind(raw)}"))
            continue
        text = " ".join(faq_tables.clean(raw).split())
        bad = _bad_char(text)
        if bad:
            problems.append(("variants", f"第{number}项含有不可见的控制字符 U+{ord(bad):04X}"))
            continue
        if text and text not in seen:
            seen.add(text)
            out.append(text)
    return tuple(out)


class _Invalid:
    """A table cell that could not become sources: ``key`` names the column, ``reason`` why."""

    def __init__(self, key: str, reason: str) -> None:
        self.key = key
        self.reason = reason


def _sources(item: Mapping[Any, Any], problems: list[_Problem]) -> tuple[SourceRef, ...]:
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
            problems.append((key, f"应为来源列表（doc_id、article），实际是{_kind(value)}"))
    refs: list[SourceRef] = []
    for number, value in enumerate(raw, start=1):
        if isinstance(value, _Invalid):
            problems.append((value.key, value.reason))
            continue
        if isinstance(value, str):
            value = {"doc_id": value}
        if not isinstance(value, dict):
            problems.append(
                ("sources", f"第{number}项应为 doc_id、article 的映射，实际是{_kind(value)}")
            )
            continue
        extra = sorted(set(map(str, value)) - {"doc_id", "article"})
        if extra:
            problems.append(("sources", f"第{number}项有未知字段 {'、'.join(extra)}"))
        found: list[_Problem] = []
        doc_id = _text(value, "doc_id", found, required=True)
        article = _text(value, "article", found)
        for key, reason in found:
            if reason.startswith("doc_id不能为空"):
                reason = "的来源文件（doc_id）不能为空"
            problems.append((f"sources.{key}", f"第{number}项{reason}"))
        if doc_id and not found:
            # One line each: a table cell separates sources by line breaks.
            ref = SourceRef(
                " ".join(doc_id.split()), " ".join(article.split()) if article else None
            )
            if ref not in refs:
                refs.append(ref)
    return tuple(refs)


def _date(item: Mapping[Any, Any], key: str, problems: list[_Problem]) -> str | None:
    """An ISO date (YYYY-MM-DD) from a date, ``2026-01-01``, ``2026/1/1`` or ``2026年1月1日``."""
    value = item.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        problems.append((key, f"应为日期（如 2026-01-01），实际是{_kind(value)}"))
        return None
    text = value.strip()
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if match:
            year, month, day = map(int, match.groups())
            try:
                return dt.date(year, month, day).isoformat()
            except ValueError:
                problems.append((key, f"“{text}”不是有效的日期"))
                return None
    problems.append((key, f"无法识别的日期“{text}”，应为 2026-01-01 或 2026年1月1日 的形式"))
    return None


def _flag(value: object, problems: list[_Problem]) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    problems.append(("reviewed", f"应为 true 或 false（是/否），实际是“{value}”"))
    return False


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


# ---------------------------------------------------------------- YAML layout


def _yaml_records(text: str) -> list[_Record]:
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"第{mark.line + 1}行" if mark is not None else "位置未知"
        problem = getattr(exc, "problem", None) or str(exc)
        raise FaqFileError(f"不是有效的 YAML（{line}）：{problem}") from exc
    if data is None:
        return []
    if not isinstance(data, list):
        raise FaqFileError(f"FAQ 文件应为条目列表（每条以“- id:”开头），实际是{_kind(data)}")
    return [_Record(number, item, {}) for number, item in enumerate(data, start=1)]


# ---------------------------------------------------------------- table layout


def _table_records(rows: Sequence[Sequence[str]]) -> tuple[list[_Record], list[str]]:
    """Header row plus data rows → records; row numbers as Excel shows them."""
    header: dict[int, str] | None = None
    labels: dict[str, str] = {}
    notes: list[str] = []
    records: list[_Record] = []
    for row_number, cells in enumerate(rows, start=1):
        if not any(cells):
            continue
        if header is None:
            header, labels, unknown = faq_tables.read_header(cells)
            if unknown:
                notes.append(f"未知的列 {'、'.join(unknown)} 已忽略")
            columns = {**labels, **_source_columns(labels)}
            continue
        records.append(_Record(row_number, _row_mapping(header, cells), columns))
    if header is None:
        raise FaqFileError(f"缺少标题行：{faq_tables.expected_header()}")
    return records, notes


def _source_columns(labels: Mapping[str, str]) -> dict[str, str]:
    doc = labels.get("source_doc_id", "source_doc_id")
    article = labels.get("source_article", "source_article")
    return {"sources": doc, "sources.doc_id": doc, "sources.article": article}


def _row_mapping(header: Mapping[int, str], cells: Sequence[str]) -> dict[str, object]:
    values: dict[str, str] = {}
    extra: list[str] = []
    for index, cell in enumerate(cells):
        key = header.get(index)
        if key:
            values[key] = cell
        elif key is None and cell:
            extra.append(cell)
    item: dict[str, object] = {
        key: values.get(key) or None
        for key in ("id", "question", "answer", "category", "effective_from", "expires_on")
    }
    item["variants"] = values.get("variants", "")
    item["sources"] = _table_sources(
        values.get("source_doc_id", ""), values.get("source_article", "")
    )
    item["reviewed"] = values.get("reviewed") or None
    if extra:
        item["无列名的单元格"] = extra  # reported as an unknown field
    return item


def _table_sources(doc_ids: str, articles: str) -> list[object]:
    """Pair ``a|b`` with ``第一条|第二条`` by position; one document may take several articles."""
    docs = [part.strip() for part in faq_tables.split_list(doc_ids)]
    arts = [part.strip() for part in faq_tables.split_list(articles)]
    while docs and not docs[-1]:
        docs.pop()
    while arts and not arts[-1]:
        arts.pop()
    if len(docs) == 1 and len(arts) > 1:
        docs = docs * len(arts)
    if len(arts) > len(docs):
        reason = f"来源条款有{len(arts)}项，来源文件只有{len(docs)}项，无法配对"
        return [_Invalid("sources.article", reason)]
    arts += [""] * (len(docs) - len(arts))
    return [
        {"doc_id": doc or None, "article": art or None} for doc, art in zip(docs, arts, strict=True)
    ]


# ---------------------------------------------------------------- writing


class _Dumper(yaml.SafeDumper):
    """Indented block lists, multi-line text as ``|`` blocks, nothing sorted."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _represent_str)


def dump_faq_yaml(entries: Iterable[FaqEntry]) -> str:
    """The knowledge folder's YAML for ``entries`` (``path`` is not written)."""
    items = [_yaml_item(entry) for entry in entries]
    if not items:
        return "[]\n"
    text: str = yaml.dump(
        items, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1_000_000
    )
    return text.replace("\n- id:", "\n\n- id:")  # a blank line between entries


def _yaml_item(entry: FaqEntry) -> dict[str, object]:
    item: dict[str, object] = {"id": entry.id, "question": entry.question}
    if entry.variants:
        item["variants"] = list(entry.variants)
    item["answer"] = entry.answer
    if entry.category:
        item["category"] = entry.category
    if entry.sources:
        item["sources"] = [
            {"doc_id": s.doc_id, **({"article": s.article} if s.article else {})}
            for s in entry.sources
        ]
    if entry.effective_from:
        item["effective_from"] = entry.effective_from
    if entry.expires_on:
        item["expires_on"] = entry.expires_on
    if entry.reviewed:
        item["reviewed"] = True
    return item


def dump_faq_table(
    entries: Iterable[FaqEntry],
    fmt: Literal["csv", "xlsx"],
    *,
    headers: Literal["en", "zh"] = "en",
) -> bytes:
    """A .csv (UTF-8 with BOM, formula-looking cells escaped with ``'``) or .xlsx (text cells)
    with the columns of :data:`TABLE_COLUMNS`, named in English or Chinese."""
    names = [CHINESE_COLUMNS[c] if headers == "zh" else c for c in TABLE_COLUMNS]
    rows = [names, *(_table_row(entry, headers) for entry in entries)]
    if fmt == "csv":
        return faq_tables.write_csv(rows)
    if fmt == "xlsx":
        return faq_tables.write_xlsx(rows)
    raise ValueError(f"unknown table format {fmt!r}")


def _table_row(entry: FaqEntry, headers: str) -> list[str]:
    docs = [s.doc_id for s in entry.sources]
    articles = [s.article or "" for s in entry.sources]
    yes, no = ("是", "否") if headers == "zh" else ("true", "false")
    values = {
        "id": entry.id,
        "question": entry.question,
        "variants": faq_tables.join_list(entry.variants),
        "answer": entry.answer,
        "category": entry.category or "",
        "source_doc_id": faq_tables.join_list(docs),
        "source_article": faq_tables.join_list(articles) if any(articles) else "",
        "effective_from": entry.effective_from or "",
        "expires_on": entry.expires_on or "",
        "reviewed": yes if entry.reviewed else no,
    }
    return [values[column] for column in TABLE_COLUMNS]


def dump_faq(entries: Iterable[FaqEntry], filename: str) -> bytes:
    """``entries`` in the format that ``filename``'s extension names (.yaml/.yml/.csv/.xlsx)."""
    suffix = Path(filename).suffix.lower()
    if suffix in (".yaml", ".yml"):
        return dump_faq_yaml(entries).encode("utf-8")
    if suffix in (".csv", ".xlsx"):
        return dump_faq_table(entries, "csv" if suffix == ".csv" else "xlsx")
    allowed = "、".join(sorted(FAQ_SUFFIXES))
    raise FaqFileError(f"不支持的 FAQ 文件类型：{suffix or '（没有扩展名）'}（可用 {allowed}）")
