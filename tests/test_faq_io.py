"""indexer.faq_files writers and uploads: what is written reads back as the same entries (the
327 entries of knowledge/faq and generated ones), and bad uploads get row errors or one clear
file error."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from indexer import faq_tables
from indexer.faq_files import (
    TABLE_COLUMNS,
    FaqFileError,
    FaqRow,
    RowError,
    dump_faq,
    dump_faq_table,
    dump_faq_yaml,
    load_faq_file,
    parse_faq_upload,
)
from indexer.models import FaqEntry, SourceRef
from tests.conftest import KNOWLEDGE

FORMATS = ["faq.yaml", "faq.csv", "faq.xlsx"]


@cache
def real_entries() -> tuple[FaqEntry, ...]:
    out: list[FaqEntry] = []
    for path in sorted((KNOWLEDGE / "faq").glob("*.yaml")):
        loaded, problems = load_faq_file(path, f"faq/{path.name}")
        assert problems == []
        out.extend(loaded)
    return tuple(out)


def _at(entries: list[FaqEntry] | tuple[FaqEntry, ...], path: str) -> list[FaqEntry]:
    return [FaqEntry(**{**e.__dict__, "path": path}) for e in entries]


def _reload(entries: list[FaqEntry] | tuple[FaqEntry, ...], filename: str) -> list[FaqEntry]:
    upload = parse_faq_upload(dump_faq(entries, filename), filename, None)
    assert upload.errors == [] and upload.warnings == []
    return [row.entry for row in upload.entries]


# ---------------------------------------------------------------- round trips


def test_the_real_faq_has_327_entries() -> None:
    assert len(real_entries()) == 327


@pytest.mark.parametrize("filename", FORMATS)
def test_real_entries_round_trip(filename: str) -> None:
    entries = real_entries()
    assert _reload(entries, filename) == _at(entries, filename)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_chinese_headers_round_trip(fmt: str) -> None:
    entries = real_entries()[:20]
    data = dump_faq_table(entries, fmt, headers="zh")  # type: ignore[arg-type]
    upload = parse_faq_upload(data, f"导出.{fmt}", None)
    assert upload.errors == []
    assert [row.entry for row in upload.entries] == _at(entries, f"导出.{fmt}")
    assert [row.row for row in upload.entries] == list(range(2, 22))


def test_dumped_files_load_from_the_knowledge_folder(tmp_path: Path) -> None:
    """The folder `policyqa index` reads takes what an export writes."""
    entries = real_entries()[:30]
    for filename in FORMATS:
        path = tmp_path / filename
        path.write_bytes(dump_faq(entries, filename))
        loaded, problems = load_faq_file(path, f"faq/{filename}")
        assert problems == []
        assert loaded == _at(entries, f"faq/{filename}")


EDGE = [
    FaqEntry(
        id="edge-bar",
        question="税率表里的 | 是什么意思？",
        answer="第一行|第二行\n第二段：a｜b，反斜杠 \\ 和 \\| 都照原样。",
        variants=("A|B 两种", "全角｜竖线", "反斜杠\\", "\\|开头", "末尾\\"),
        category="税收",
        sources=(SourceRef("法|一", "第一条|第二条"), SourceRef("法\\二", None)),
    ),
    FaqEntry(
        id="edge-formula",
        question="=1+1",
        answer="-5% 是下调；+3 是上调；@提醒；'=已经转义过的",
        variants=('=HYPERLINK("http://x")', "+86 电话", "-负数", "@someone", "'=1+1", "''-x"),
        sources=(SourceRef("=cmd|' /C calc'!A0", "=A1"),),
        reviewed=True,
    ),
    FaqEntry(
        id="edge-fullwidth",
        question="ＡＢＣ１２３　全角问题？",
        answer="全角空格　在中间。\n\n  缩进的第二段\n最后一行：“引号”‘单引号’「」『』",
        variants=("１２３", "yes", "null", "~", "- 像列表", "# 像注释", "key: value", "5000"),
        effective_from="2026-01-01",
        expires_on="2027-12-31",
    ),
    FaqEntry(id="edge-empty", question="只有问题和答案？", answer="是的。"),
    FaqEntry(
        id="edge-quotes",
        question='包含"双引号",逗号和\t制表符',
        answer='"整段引号"',
        variants=('"', ","),
        sources=(SourceRef("doc", "第一条"), SourceRef("doc", None), SourceRef("doc2", "第二条")),
    ),
]


@pytest.mark.parametrize("filename", FORMATS)
def test_edge_cases_round_trip(filename: str) -> None:
    assert _reload(EDGE, filename) == _at(EDGE, filename)


def test_formulas_are_escaped_in_csv_and_text_in_xlsx() -> None:
    entries = [EDGE[1]]
    text = dump_faq_table(entries, "csv").decode("utf-8")
    assert text.startswith("\ufeffid,question,")
    row = next(csv.reader(io.StringIO(text.splitlines()[1])))
    assert row[:2] == ["edge-formula", "'=1+1"]
    assert row[3].startswith("'-5%")
    assert row[5] == "'=cmd\\|' /C calc'!A0" and row[6] == "'=A1"
    book = openpyxl.load_workbook(io.BytesIO(dump_faq_table(entries, "xlsx")))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == list(TABLE_COLUMNS)
    cell = sheet.cell(row=2, column=2)
    assert (cell.value, cell.data_type, cell.quotePrefix) == ("=1+1", "s", True)
    filled = [c for c in sheet[2] if c.value is not None]
    assert len(filled) == 7  # category and the dates are empty
    assert all(c.data_type == "s" for c in filled), "no formula, number or date cell"


def test_a_csv_escape_left_in_a_workbook_is_removed() -> None:
    """A CSV export opened in Excel and saved as .xlsx may keep the `'`: it reads back the same."""
    rows: list[list[object]] = [["id", "question", "answer"], ["f", "'=1+1", "'-5%，'普通"]]
    upload = parse_faq_upload(_xlsx(rows), "另存为.xlsx", None)
    assert [(r.entry.question, r.entry.answer) for r in upload.entries] == [("=1+1", "-5%，'普通")]
    entry = FaqEntry(id="q", question="'=SUM(A1)", answer="'普通")
    sheet = openpyxl.load_workbook(io.BytesIO(dump_faq_table([entry], "xlsx"))).worksheets[0]
    assert [sheet.cell(2, 2).value, sheet.cell(2, 4).value] == ["''=SUM(A1)", "'普通"]
    assert _reload([entry], "a.xlsx") == _at([entry], "a.xlsx")


def test_yaml_is_the_knowledge_format() -> None:
    text = dump_faq_yaml([EDGE[0], EDGE[3]])
    assert text.startswith("- id: edge-bar\n  question: 税率表里的 | 是什么意思？\n  variants:\n")
    assert "  answer: |-\n    第一行|第二行\n" in text
    assert "\n\n- id: edge-empty\n  question: 只有问题和答案？\n  answer: 是的。\n" in text
    assert dump_faq_yaml([]) == "[]\n"


# Text as staff write it: Chinese, full-width forms, separators, quotes, formula starts, escapes.
_ALPHABET = st.sampled_from(
    list("政策咨询税率答案问题ＡＢ１２，。：？（）“”「」　abcXYZ019 ")
    + list("|｜\\'\"=+-@#:*&!%{}[],\n\t~")
)
_TEXT = st.text(_ALPHABET, min_size=1, max_size=40).map(faq_tables.clean).filter(bool)
_LINE = _TEXT.map(lambda t: " ".join(t.split())).filter(bool)
_ID = st.text(st.sampled_from(list("abc-_019政策")), min_size=1, max_size=12)
_DATE = st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 30))


@st.composite
def _entries(draw: st.DrawFn) -> list[FaqEntry]:
    ids = draw(st.lists(_ID, min_size=1, max_size=4, unique=True))
    out = []
    for entry_id in ids:
        question = draw(_TEXT)
        variants = [v for v in draw(st.lists(_LINE, unique=True)) if v != question]
        sources = draw(
            st.lists(st.builds(SourceRef, _LINE, st.none() | _LINE), max_size=3, unique=True)
        )
        start = draw(st.none() | _DATE)
        end = draw(st.none() | _DATE)
        if start and end and end <= start:
            end = start + dt.timedelta(days=1)
        out.append(
            FaqEntry(
                id=entry_id,
                question=question,
                answer=draw(_TEXT),
                variants=tuple(variants),
                category=draw(st.none() | _LINE),
                sources=tuple(sources),
                reviewed=draw(st.booleans()),
                effective_from=start.isoformat() if start else None,
                expires_on=end.isoformat() if end else None,
            )
        )
    return out


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_entries())
def test_generated_entries_round_trip(entries: list[FaqEntry]) -> None:
    for filename in FORMATS:
        assert _reload(entries, filename) == _at(entries, filename), filename


# ---------------------------------------------------------------- uploads: row errors


def _csv(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode(encoding)


def _xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


_ZH_HEADER = [
    "编号",
    "标准问题",
    "相似问法",
    "答案",
    "分类",
    "来源文件",
    "来源条款",
    "生效日期",
    "失效日期",
]
_ZH_ROWS = [
    _ZH_HEADER,
    [
        "a-1",
        "个税怎么算？",
        "个税咋算｜工资个税",
        "按年计算。",
        "税收",
        "个税法",
        "第六条",
        "2026年1月1日",
        "",
    ],
    ["a-2", "契税税率？", "", "", "税收", "", "", "", ""],
    ["a-3", "房产税？", "", "按原值计算。", "房产", "", "", "2026-13-01", "2025/1/1"],
    ["a-4", "车船税？", "", "按年申报。", "税收", "", "", "2026-01-01", "2025-12-31"],
    ["a-5", "印花税？", "", "按合同计。", "税收", "", "", "2026/3/1", "2026.12.31"],
]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gbk"])
def test_chinese_headers_and_row_errors_in_csv(encoding: str) -> None:
    upload = parse_faq_upload(_csv(_ZH_ROWS, encoding), "批量.csv", {"税收", "预算"})
    assert not upload.ok
    assert upload.entries == [
        FaqRow(
            2,
            FaqEntry(
                id="a-1",
                question="个税怎么算？",
                answer="按年计算。",
                variants=("个税咋算", "工资个税"),
                category="税收",
                sources=(SourceRef("个税法", "第六条"),),
                effective_from="2026-01-01",
                path="批量.csv",
            ),
        ),
        FaqRow(
            6,
            FaqEntry(
                id="a-5",
                question="印花税？",
                answer="按合同计。",
                category="税收",
                effective_from="2026-03-01",
                expires_on="2026-12-31",
                path="批量.csv",
            ),
        ),
    ]
    assert [str(e) for e in upload.errors] == [
        "第3行「答案」列：答案不能为空",
        "第4行「分类」列：未知的分类“房产”，应为：税收、预算",
        "第4行「生效日期」列：“2026-13-01”不是有效的日期",
        "第5行「失效日期」列：失效日期 2025-12-31 应晚于生效日期 2026-01-01",
    ]
    assert upload.errors[0] == RowError(3, "答案", "答案不能为空", "a-2")


def test_the_brief_example_message() -> None:
    data = _csv([["id", "question", "answer"], ["x", "问题一？", "答案。"], ["y", "问题二？", ""]])
    upload = parse_faq_upload(data, "a.csv", None)
    assert [str(e) for e in upload.errors] == ["第3行「answer」列：答案不能为空"]
    assert upload.errors[0].describe() == "第3行（id: y）「answer」列：答案不能为空"


def test_row_errors_in_xlsx_with_dates_as_excel_dates() -> None:
    rows: list[list[object]] = [
        ["ID", "Question", "Answer", "Effective_From", "生效日期"],
    ]
    with pytest.raises(FaqFileError, match="标题行中的列重复：「Effective_From」和「生效日期」"):
        parse_faq_upload(_xlsx(rows), "x.xlsx", None)
    rows = [
        ["id", "question", "answer", "effective_from", "expires_on", "category"],
        ["d-1", "问？", "答。", dt.datetime(2026, 1, 1), dt.date(2026, 6, 30), "预算"],
        ["d-2", "问二？", "答二。", "明年", None, "其他"],
    ]
    upload = parse_faq_upload(_xlsx(rows), "x.xlsx", ["预算"])
    assert [(r.row, r.entry.effective_from, r.entry.expires_on) for r in upload.entries] == [
        (2, "2026-01-01", "2026-06-30")
    ]
    assert [(e.row, e.column, e.entry_id) for e in upload.errors] == [
        (3, "category", "d-2"),
        (3, "effective_from", "d-2"),
    ]
    assert "无法识别的日期“明年”" in upload.errors[1].reason


def test_unknown_categories_pass_without_a_list() -> None:
    upload = parse_faq_upload(_csv(_ZH_ROWS[:2]), "a.csv", None)
    assert upload.ok and len(upload.entries) == 1
    upload = parse_faq_upload(_csv(_ZH_ROWS[:2]), "a.csv", [])
    assert [str(e) for e in upload.errors] == [
        "第2行「分类」列：未知的分类“税收”，应为：（没有可用的分类）"
    ]


def test_yaml_upload_numbers_entries() -> None:
    data = "- id: y1\n  question: 问？\n  answer: 答。\n- id: y2\n  question: 问二？\n".encode()
    upload = parse_faq_upload(data, "a.yaml", None)
    assert [row.row for row in upload.entries] == [1]
    assert [str(e) for e in upload.errors] == ["第2条「answer」字段：答案不能为空"]


# ---------------------------------------------------------------- uploads: the file as a whole


def test_duplicate_ids_refuse_the_file() -> None:
    rows = [["id", "question", "answer"], ["a", "问一？", "答。"], ["b", "问二？", "答。"]]
    rows += [["a", "问三？", ""], ["b", "问四？", "答。"], ["a", "问五？", "答。"]]
    with pytest.raises(FaqFileError) as caught:
        parse_faq_upload(_csv(rows), "dup.csv", None)
    assert str(caught.value) == (
        "文件中有重复的 id：a（第2、4、6行）；b（第3、5行）。每个 id 只能出现一次，请合并或改名后重新上传"
    )


def test_size_limit_from_the_caller() -> None:
    data = dump_faq_table(real_entries(), "csv")
    assert parse_faq_upload(data, "a.csv", None, max_bytes=len(data)).ok
    with pytest.raises(FaqFileError, match=r"文件过大：284\.\d KB，上限为 100\.0 KB"):
        parse_faq_upload(data, "a.csv", None, max_bytes=100 * 1024)


def _docx_like() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


_XLSX = _xlsx([["id", "question", "answer"], ["a", "问？", "答。"]])


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (
            _XLSX,
            "伪装.csv",
            "扩展名是 .csv，但文件内容是Excel 工作簿（.xlsx），不是文本文件：请把扩展名改为 .xlsx",
        ),
        (_XLSX, "伪装.yaml", "扩展名是 .yaml，但文件内容是Excel 工作簿（.xlsx）"),
        (b"%PDF-1.7\n...", "伪装.xlsx", "扩展名是 .xlsx，但文件内容是PDF 文档"),
        (b"%PDF-1.7\n...", "伪装.csv", "扩展名是 .csv，但文件内容是PDF 文档"),
        (_docx_like(), "伪装.xlsx", "扩展名是 .xlsx，但文件内容是Word 文档（.docx）"),
        (
            b"id,question,answer\n",
            "伪装.xlsx",
            "扩展名是 .xlsx，但文件内容是文本或其他格式",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "旧.xlsx", "旧版 .xls 格式"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "图.csv", "文件内容是PNG 图片"),
        (b"id,question\x00answer\n", "x.csv", "二进制"),
        (b"\xff\xfe\x00", "x.csv", "UTF-16"),
        (_XLSX, "a.xls", "不支持的 FAQ 文件类型：.xls（可用 .csv、.xlsx、.yaml、.yml）"),
        (_XLSX, "无扩展名", "不支持的 FAQ 文件类型：（没有扩展名）"),
        (b"", "e.csv", "缺少标题行"),
        (b"id,question\n", "c.csv", "缺少必需的列：answer（答案）"),
        ("编号,问题\n".encode("gbk"), "c.csv", "缺少必需的列：answer（答案）"),
        (b"id,question,answer\n", "c.csv", "文件中没有任何 FAQ 条目"),
        (b"- id: a\n  question: [unclosed\n", "a.yaml", "不是有效的 YAML"),
    ],
    ids=lambda value: value if isinstance(value, str) and len(value) < 12 else "",
)
def test_file_errors(data: bytes, filename: str, message: str) -> None:
    with pytest.raises(FaqFileError) as caught:
        parse_faq_upload(data, filename, None)
    assert message in str(caught.value)


def test_zip_bomb_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (faq_tables.MAX_UNZIPPED_BYTES + 1))
    data = out.getvalue()
    assert len(data) < 200_000
    with pytest.raises(FaqFileError, match="Excel 文件解压后超过 64 MB"):
        parse_faq_upload(data, "炸弹.xlsx", None)


def test_unsupported_writer_type() -> None:
    with pytest.raises(FaqFileError, match=r"不支持的 FAQ 文件类型：\.json"):
        dump_faq(real_entries(), "faq.json")
