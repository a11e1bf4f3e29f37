"""The table layout of FAQ files (.csv and .xlsx), read and written: columns and their Chinese
names, list cells, CSV formula escaping, and what a file really is whatever its extension says.

Only indexer/faq_files.py uses this module; it owns the FAQ format as a whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import warnings
import zipfile
from collections.abc import Iterable, Sequence

from indexer.readers import ReadError, decode_text

TABLE_COLUMNS = (
    "id",
    "question",
    "variants",
    "answer",
    "category",
    "source_doc_id",
    "source_article",
    "effective_from",
    "expires_on",
    "reviewed",
)
REQUIRED_COLUMNS = ("id", "question", "answer")
CHINESE_COLUMNS = {
    "id": "编号",
    "question": "标准问题",
    "variants": "相似问法",
    "answer": "答案",
    "category": "分类",
    "source_doc_id": "来源文件",
    "source_article": "来源条款",
    "effective_from": "生效日期",
    "expires_on": "失效日期",
    "reviewed": "已审核",
}
_ALIASES = {
    **{name: name for name in TABLE_COLUMNS},
    **{zh: en for en, zh in CHINESE_COLUMNS.items()},
    "问题": "question",
    "答复": "answer",
    "相似问题": "variants",
    "来源文件编号": "source_doc_id",
    "来源条目": "source_article",
    "是否已审核": "reviewed",
}
MAX_UNZIPPED_BYTES = 64 * 1024 * 1024  # an .xlsx that inflates beyond this is refused

# Cells CSV readers (Excel, WPS) would run as formulas; exported with a leading `'`.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SEPARATORS = frozenset("|｜\n")
_ESCAPABLE = _SEPARATORS - {"\n"} | {"\\"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_MAGIC = (
    (_OLE_MAGIC, "旧版 Office 文件（.xls/.doc）或设置了打开密码的 Excel 文件"),
    (b"%PDF", "PDF 文档"),
    (b"\x89PNG", "PNG 图片"),
    (b"\xff\xd8\xff", "JPEG 图片"),
    (b"GIF8", "GIF 图片"),
    (b"\x1f\x8b", "gzip 压缩文件"),
    (b"Rar!", "RAR 压缩包"),
    (b"7z\xbc\xaf", "7z 压缩包"),
)


class TableError(Exception):
    """The whole file is unusable (the message is Chinese and names the reason)."""


# ---------------------------------------------------------------- what a file really is


def binary_kind(data: bytes) -> str | None:
    """A Chinese name for a binary format recognised by its first bytes, or None."""
    if data.startswith(b"PK\x03\x04"):
        names = _zip_names(data)
        if names is None:
            return "ZIP 压缩包（已损坏）"
        if "xl/workbook.xml" in names:
            return "Excel 工作簿（.xlsx）"
        if "word/document.xml" in names:
            return "Word 文档（.docx）"
        return "ZIP 压缩包"
    for magic, kind in _MAGIC:
        if data.startswith(magic):
            return kind
    return None


def _zip_names(data: bytes) -> set[str] | None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        return None


def decode(data: bytes, suffix: str) -> str:
    """The text of a .csv or .yaml file: UTF-8 (BOM or not), UTF-16 with BOM, else GB18030/GBK."""
    kind = binary_kind(data)
    if kind is not None:
        hint = "请把扩展名改为 .xlsx，或在 Excel 中另存为 CSV" if "xlsx" in kind else "请检查文件"
        raise TableError(f"扩展名是 {suffix}，但文件内容是{kind}，不是文本文件：{hint}")
    try:
        return decode_text(data)
    except ReadError as exc:
        raise TableError(f"无法读取 {suffix} 文件：{exc}") from exc


# ---------------------------------------------------------------- reading


def csv_rows(data: bytes) -> list[list[str]]:
    """The rows of a CSV file, each cell cleaned and its formula escape undone."""
    text = decode(data, ".csv")
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise TableError(f"CSV 格式有误：{exc}") from exc
    return [[unescape_formula(clean(cell)) for cell in row] for row in rows]


def xlsx_rows(data: bytes) -> list[list[str]]:
    """The rows of the first sheet of a workbook, each cell as text; a `'` before a formula-looking
    text (left by a CSV export opened and saved in Excel) is removed as in CSV."""
    import openpyxl

    if not data.startswith(b"PK\x03\x04"):
        kind = binary_kind(data)
        if kind is not None and kind.startswith("旧版"):
            raise TableError(
                "无法读取 Excel 文件：这是旧版 .xls 格式或设置了打开密码，请用 Excel 另存为 .xlsx"
            )
        what = kind or "文本或其他格式"
        raise TableError(f"扩展名是 .xlsx，但文件内容是{what}：文件已损坏或不是 .xlsx 格式")
    _check_unzipped_size(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # openpyxl warns about styles/extensions it ignores
        try:
            book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # zip, XML, KeyError, InvalidFileException, ...
            kind = binary_kind(data)
            if kind and "xlsx" not in kind and "损坏" not in kind:
                raise TableError(f"扩展名是 .xlsx，但文件内容是{kind}") from exc
            raise TableError("无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式") from exc
        try:
            if not book.worksheets:
                raise TableError("Excel 文件中没有工作表")
            return [
                [unescape_formula(cell_text(value)) for value in row]
                for row in book.worksheets[0].iter_rows(values_only=True)
            ]
        except TableError:
            raise
        except Exception as exc:
            raise TableError("无法读取 Excel 文件：第一个工作表已损坏") from exc
        finally:
            book.close()


def _check_unzipped_size(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise TableError("无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式") from exc
    if total > MAX_UNZIPPED_BYTES:
        limit = MAX_UNZIPPED_BYTES // (1024 * 1024)
        raise TableError(f"Excel 文件解压后超过 {limit} MB，不予读取")


def cell_text(value: object) -> str:
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
    return clean(value)


def clean(value: object) -> str:
    """Line breaks as ``\\n``, no trailing blanks on a line, no blank start or end."""
    if value is None:
        return ""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    return "\n".join(line.rstrip() for line in text.split("\n")).strip()


def read_header(cells: Sequence[str]) -> tuple[dict[int, str], dict[str, str], list[str]]:
    """Position → column key ("" for an unknown name, ignored), column key → the name as the
    file spells it, the unknown names."""
    keys: dict[int, str] = {}
    labels: dict[str, str] = {}
    unknown: list[str] = []
    for index, cell in enumerate(cells):
        name = cell.strip().lstrip("\ufeff").strip()
        if not name:
            continue
        key = _ALIASES.get(name.lower().rstrip("*＊").strip())
        if key is None:
            keys[index] = ""
            unknown.append(name)
            continue
        if key in labels:
            raise TableError(f"标题行中的列重复：「{labels[key]}」和「{name}」是同一列")
        keys[index] = key
        labels[key] = name
    missing = [f"{key}（{CHINESE_COLUMNS[key]}）" for key in REQUIRED_COLUMNS if key not in labels]
    if missing:
        raise TableError(f"缺少必需的列：{'、'.join(missing)}（{expected_header()}）")
    return keys, labels, unknown


def expected_header() -> str:
    names = ", ".join(TABLE_COLUMNS)
    return f"标题行应为 {names}，或中文列名 {'、'.join(CHINESE_COLUMNS.values())}"


def split_list(cell: str) -> list[str]:
    """``a|b`` (also full-width ｜ or line breaks) → parts; ``\\|``, ``\\｜``, ``\\\\`` escape."""
    parts: list[str] = []
    current: list[str] = []
    chars = iter(cell)
    for char in chars:
        if char == "\\":
            following = next(chars, "")
            if following in _ESCAPABLE:
                current.append(following)
            else:
                current.append(char + following)
        elif char in _SEPARATORS:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def unescape_formula(cell: str) -> str:
    if cell.startswith("'") and cell.lstrip("'").startswith(_FORMULA_START):
        return cell[1:]
    return cell


# ---------------------------------------------------------------- writing


def join_list(items: Iterable[str]) -> str:
    """The inverse of :func:`split_list` for parts without line breaks."""
    escaped = (re.sub(r"([\\|｜])", r"\\\1", item) for item in items)
    return "|".join(escaped)


def escape_formula(cell: str) -> str:
    return "'" + cell if cell.lstrip("'").startswith(_FORMULA_START) else cell


def write_csv(rows: Sequence[Sequence[str]]) -> bytes:
    """UTF-8 with BOM (Excel opens it as UTF-8), every formula-looking cell escaped."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([escape_formula(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def write_xlsx(rows: Sequence[Sequence[str]]) -> bytes:
    """One sheet of text cells: nothing is a formula, a number or a date for Excel."""
    import openpyxl
    from openpyxl.styles import Alignment, Font

    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "FAQ"
    wrap = Alignment(wrap_text=True, vertical="top")
    for row_number, row in enumerate(rows, start=1):
        for column, value in enumerate(row, start=1):
            cell = sheet.cell(row=row_number, column=column)
            # Text as it is ("=1+1" too), except that a text starting with `'` and a formula
            # gets one more `'`: the reader removes one, as for a CSV opened and saved by Excel.
            cell.value = escape_formula(value) if value.startswith("'") else value
            cell.data_type = "s"  # "=1+1" stays text, never a formula
            cell.number_format = "@"
            if value.startswith(_FORMULA_START) or value.startswith("'"):
                cell.quotePrefix = True  # Excel keeps it text when the cell is edited
            if "\n" in value:
                cell.alignment = wrap
            if row_number == 1:
                cell.font = Font(bold=True)
    widths = {"question": 36, "variants": 40, "answer": 60}
    for column, name in enumerate(rows[0] if rows else (), start=1):
        key = _ALIASES.get(name.lower(), "")
        letter = openpyxl.utils.get_column_letter(column)
        sheet.column_dimensions[letter].width = widths.get(key, 16)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
