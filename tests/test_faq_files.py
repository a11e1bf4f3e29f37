"""indexer.faq_files on real YAML, CSV and XLSX files (the workbooks are built with openpyxl)."""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Sequence
from pathlib import Path

import openpyxl
import pytest

from indexer.faq_files import load_faq_file
from indexer.models import FaqEntry, LoadProblem, SourceRef

ZHIYI = FaqEntry(
    id="zfcg-zhiyi",
    question="供应商对政府采购结果有异议，怎么提出质疑？",
    answer=(
        "供应商认为采购文件、采购过程和中标、成交结果使自己的权益受到损害的，"
        "可以在知道或者应知其权益受到损害之日起七个工作日内，以书面形式向采购人提出质疑。"
    ),
    variants=("中标结果不公平怎么办", "政府采购质疑的期限是多久"),
    category="政府采购",
    sources=(SourceRef("政府采购法-2014", "第五十二条"),),
    reviewed=True,
    path="faq/zfcg.yaml",
)
YUSUAN = FaqEntry(
    id="ys-gongkai",
    question="部门预算什么时候公开？",
    answer="部门预算应当在批复后二十日内由各部门向社会公开。",
    variants=("预算多久公开",),
    category="预算",
    sources=(
        SourceRef("预算法-2018", "第十四条"),
        SourceRef("预算公开办法", None),
    ),
    reviewed=False,
    path="faq/zfcg.yaml",
)

_YAML = """\
- id: zfcg-zhiyi                        # unique among FAQ entries
  question: 供应商对政府采购结果有异议，怎么提出质疑？
  variants:
    - 中标结果不公平怎么办
    - " 政府采购质疑的期限是多久 "
    - ""
    - 中标结果不公平怎么办
    - 供应商对政府采购结果有异议，怎么提出质疑？
  answer: |
    供应商认为采购文件、采购过程和中标、成交结果使自己的权益受到损害的，\
可以在知道或者应知其权益受到损害之日起七个工作日内，以书面形式向采购人提出质疑。
  category: 政府采购
  sources:
    - doc_id: 政府采购法-2014
      article: 第五十二条
  reviewed: true
- id: ys-gongkai
  question: "  部门预算什么时候公开？ "
  variants: [预算多久公开]
  answer: 部门预算应当在批复后二十日内由各部门向社会公开。
  category: 预算
  source: {doc_id: 预算法-2018, article: 第十四条}
  sources:
    - 预算公开办法
"""


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _fatal(problems: list[LoadProblem]) -> list[LoadProblem]:
    return [p for p in problems if p.fatal]


# ---------------------------------------------------------------- YAML


def test_yaml_round_trip(tmp_path: Path) -> None:
    path = _write(tmp_path / "faq" / "zfcg.yaml", _YAML)
    entries, problems = load_faq_file(path, "faq/zfcg.yaml")
    assert problems == []
    assert entries == [ZHIYI, YUSUAN]
    assert entries[0].questions == (ZHIYI.question, *ZHIYI.variants)


def test_yml_with_utf8_bom(tmp_path: Path) -> None:
    path = tmp_path / "a.yml"
    path.write_bytes(("\ufeff" + _YAML).encode("utf-8"))
    entries, problems = load_faq_file(path, "faq/a.yml")
    assert problems == []
    assert [e.id for e in entries] == ["zfcg-zhiyi", "ys-gongkai"]
    assert {e.path for e in entries} == {"faq/a.yml"}


_BAD_YAML_ENTRIES = """\
- id: ok-1
  question: 政府采购的方式有哪些？
  answer: 公开招标、邀请招标、竞争性谈判、单一来源采购、询价。
- id: no-question
  answer: 有答案没有问题。
- id: no-answer
  question: 有问题没有答案？
  answer: "   "
- question: 没有编号的问题？
  answer: 答案。
- id: ok-1
  question: 重复编号？
  answer: 重复。
- id: bad-types
  question: 类型错误？
  answer: [不是, 文字]
  variants: {a: b}
  reviewed: 也许
  sources: 42
- just a string
- id: bad-source
  question: 来源没有 doc_id？
  answer: 答案。
  sources:
    - article: 第五十二条
- id: ok-2
  question: 什么是政府采购？
  answer: 政府采购是指各级国家机关、事业单位和团体组织使用财政性资金采购的行为。
  anwser: 拼错的字段
"""


def test_yaml_bad_entries_are_reported_and_the_rest_load(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.yaml", _BAD_YAML_ENTRIES)
    entries, problems = load_faq_file(path, "faq/bad.yaml")
    assert [e.id for e in entries] == ["ok-1", "ok-2"]
    assert all(p.path == "faq/bad.yaml" for p in problems)
    reasons = [p.reason for p in _fatal(problems)]
    assert reasons == [
        "第2条（id: no-question）「question」字段：问题不能为空",
        "第3条（id: no-answer）「answer」字段：答案不能为空",
        "第4条「id」字段：编号不能为空",
        "第5条（id: ok-1）「id」字段：与第1条的 id 重复",
        "第6条（id: bad-types）「variants」字段：应为问法列表，实际是映射",
        "第6条（id: bad-types）「answer」字段：应为文字，实际是列表",
        "第6条（id: bad-types）「sources」字段：应为来源列表（doc_id、article），实际是数字 42",
        "第6条（id: bad-types）「reviewed」字段：应为 true 或 false（是/否），实际是“也许”",
        "第7条：应为“键: 值”形式的条目，实际是文字",
        "第8条（id: bad-source）「sources」字段：第1项的来源文件（doc_id）不能为空",
    ]
    warnings = [p.reason for p in problems if not p.fatal]
    assert warnings == ["第9条（id: ok-2）：未知字段 anwser 已忽略"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("- id: a\n  question: [未闭合\n", r"不是有效的 YAML（第3行）", id="bad-yaml"),
        pytest.param("id: a\nquestion: 问？\n", "应为条目列表.*实际是映射", id="mapping"),
        pytest.param("只是一句话\n", "应为条目列表.*实际是文字", id="scalar"),
    ],
)
def test_yaml_file_level_problem_is_one_problem_and_no_entries(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = _write(tmp_path / "broken.yaml", text)
    entries, problems = load_faq_file(path, "faq/broken.yaml")
    assert entries == []
    assert len(problems) == 1
    assert problems[0].path == "faq/broken.yaml"
    assert problems[0].fatal
    assert re.search(reason, problems[0].reason), problems[0].reason


def test_empty_yaml_is_a_warning(tmp_path: Path) -> None:
    path = _write(tmp_path / "empty.yaml", "# 还没有条目\n")
    entries, problems = load_faq_file(path, "faq/empty.yaml")
    assert entries == []
    assert [(p.reason, p.fatal) for p in problems] == [("FAQ 文件中没有任何条目", False)]


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = _write(tmp_path / "faq.json", "[]")
    entries, problems = load_faq_file(path, "faq/faq.json")
    assert entries == []
    assert [p.reason for p in problems] == [
        "不支持的 FAQ 文件类型：.json（可用 .csv、.xlsx、.yaml、.yml）"
    ]


# ---------------------------------------------------------------- CSV / XLSX

_HEADER = ["id", "question", "variants", "answer", "category", "source_doc_id", "source_article"]
_ROWS = [
    [
        "zfcg-zhiyi",
        ZHIYI.question,
        "中标结果不公平怎么办| 政府采购质疑的期限是多久 |\n中标结果不公平怎么办",
        ZHIYI.answer,
        "政府采购",
        "政府采购法-2014",
        "第五十二条",
    ],
    [
        " ys-gongkai ",
        "部门预算什么时候公开？",
        "预算多久公开",
        "部门预算应当在批复后二十日内由各部门向社会公开。",
        "预算",
        "预算法-2018|预算公开办法",
        "第十四条",
    ],
    ["", "", "", "", "", "", ""],  # blank rows are skipped
    [
        "zfcg-fangshi",
        "政府采购有哪些方式？",
        "",
        "公开招标、邀请招标、竞争性谈判、单一来源采购、询价。\n以及国务院政府采购监督管理部门认定的其他方式。",
        "",
        "政府采购法-2014",
        "第二十六条｜第二十七条",  # one document, several articles; full-width bar
    ],
]


def _expected(path: str) -> list[FaqEntry]:
    fangshi = FaqEntry(
        id="zfcg-fangshi",
        question="政府采购有哪些方式？",
        answer=_ROWS[3][3],
        sources=(
            SourceRef("政府采购法-2014", "第二十六条"),
            SourceRef("政府采购法-2014", "第二十七条"),
        ),
        path=path,
    )
    zhiyi = FaqEntry(**{**ZHIYI.__dict__, "reviewed": False, "path": path})
    yusuan = FaqEntry(**{**YUSUAN.__dict__, "path": path})
    return [zhiyi, yusuan, fangshi]


def _write_csv(path: Path, rows: Sequence[Sequence[object]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def _write_xlsx(path: Path, rows: Sequence[Sequence[object]]) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "常见问题"
    for row in rows:
        sheet.append(row)
    other = book.create_sheet("说明")
    other.append(["这张表不读"])
    book.save(path)
    return path


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_csv_round_trip(tmp_path: Path, encoding: str) -> None:
    path = _write_csv(tmp_path / "bulk.csv", [_HEADER, *_ROWS], encoding)
    entries, problems = load_faq_file(path, "faq/bulk.csv")
    assert problems == []
    assert entries == _expected("faq/bulk.csv")


def test_xlsx_round_trip(tmp_path: Path) -> None:
    rows: list[list[object]] = [[None, None, None], [*_HEADER, "reviewed"]]  # blank row first
    rows += [[*row, flag] for row, flag in zip(_ROWS, [True, "否", None, 0], strict=True)]
    path = _write_xlsx(tmp_path / "bulk.xlsx", rows)
    entries, problems = load_faq_file(path, "faq/bulk.xlsx")
    assert problems == []
    expected = _expected("faq/bulk.xlsx")
    expected[0] = FaqEntry(**{**expected[0].__dict__, "reviewed": True})
    assert entries == expected


def test_xlsx_numbers_become_text(tmp_path: Path) -> None:
    path = _write_xlsx(
        tmp_path / "n.xlsx",
        [["ID", "Question", "Answer"], [101, "个人所得税起征点是多少？", 5000]],
    )
    entries, problems = load_faq_file(path, "faq/n.xlsx")
    assert problems == []
    assert [(e.id, e.question, e.answer) for e in entries] == [
        ("101", "个人所得税起征点是多少？", "5000")
    ]


_BAD_ROWS = [
    ["ok-1", "问题一？", "", "答案一。", "", "", ""],
    ["no-answer", "有问题没有答案？", "", " ", "", "", ""],
    ["", "没有编号？", "", "答案。", "", "", ""],
    ["ok-1", "重复编号？", "", "答案。", "", "", ""],
    ["pairs", "来源配不上？", "", "答案。", "", "法-1|法-2", "第一条|第二条|第三条"],
    ["no-doc", "只有条款？", "", "答案。", "", "", "第一条"],
    ["ok-2", "问题二？", "", "答案二。", "", "", "", "多出的单元格"],
]
_BAD_REASONS = [
    "第3行（id: no-answer）「answer」列：答案不能为空",
    "第4行「id」列：编号不能为空",
    "第5行（id: ok-1）「id」列：与第2行的 id 重复",
    "第6行（id: pairs）「source_article」列：来源条款有3项，来源文件只有2项，无法配对",
    "第7行（id: no-doc）「source_article」列：来源条款有1项，来源文件只有0项，无法配对",
]


def test_csv_bad_rows_are_reported_and_the_rest_load(tmp_path: Path) -> None:
    path = _write_csv(tmp_path / "bad.csv", [_HEADER, *_BAD_ROWS])
    entries, problems = load_faq_file(path, "faq/bad.csv")
    assert [e.id for e in entries] == ["ok-1", "ok-2"]
    assert all(p.path == "faq/bad.csv" for p in problems)
    assert [p.reason for p in _fatal(problems)] == _BAD_REASONS
    assert [p.reason for p in problems if not p.fatal] == [
        "第8行（id: ok-2）：未知字段 无列名的单元格 已忽略"
    ]


def test_xlsx_bad_rows_are_reported_and_the_rest_load(tmp_path: Path) -> None:
    path = _write_xlsx(tmp_path / "bad.xlsx", [_HEADER, *_BAD_ROWS[:-1]])
    entries, problems = load_faq_file(path, "faq/bad.xlsx")
    assert [e.id for e in entries] == ["ok-1"]
    assert [(p.path, p.reason) for p in problems] == [("faq/bad.xlsx", r) for r in _BAD_REASONS]


def test_bad_reviewed_value_in_table(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "r.csv",
        [["id", "question", "answer", "reviewed"], ["a", "问？", "答。", "也许"]],
    )
    entries, problems = load_faq_file(path, "faq/r.csv")
    assert entries == []
    assert [p.reason for p in problems] == [
        "第2行（id: a）「reviewed」列：应为 true 或 false（是/否），实际是“也许”"
    ]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_missing_required_column_is_a_file_problem(tmp_path: Path, suffix: str) -> None:
    rows = [["id", "question", "variants"], ["a", "问题？", "问法"]]
    path = tmp_path / f"cols{suffix}"
    if suffix == ".csv":
        _write_csv(path, rows)
    else:
        _write_xlsx(path, rows)
    entries, problems = load_faq_file(path, f"faq/cols{suffix}")
    assert entries == []
    assert len(problems) == 1
    assert problems[0].path == f"faq/cols{suffix}"
    assert problems[0].reason.startswith("缺少必需的列：answer")


def test_unknown_column_is_one_warning(tmp_path: Path) -> None:
    path = _write_csv(
        tmp_path / "u.csv", [["id", "question", "answer", "备注"], ["a", "问？", "答。", "x"]]
    )
    entries, problems = load_faq_file(path, "faq/u.csv")
    assert [e.id for e in entries] == ["a"]
    assert [(p.reason, p.fatal) for p in problems] == [("未知的列 备注 已忽略", False)]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (bytes(random.Random(5).getrandbits(8) for _ in range(2048)), "文件已损坏或不是 .xlsx"),
        (b"PK\x03\x04" + b"\x00" * 100, "文件已损坏或不是 .xlsx"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "旧版 .xls"),
    ],
    ids=["random", "zip-header-only", "legacy-xls"],
)
def test_corrupt_xlsx_is_one_problem(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "坏表格.xlsx"
    path.write_bytes(content)
    entries, problems = load_faq_file(path, "faq/坏表格.xlsx")
    assert entries == []
    assert len(problems) == 1
    assert problems[0].path == "faq/坏表格.xlsx"
    assert reason in problems[0].reason


def test_truncated_xlsx_is_one_problem(tmp_path: Path) -> None:
    good = _write_xlsx(tmp_path / "good.xlsx", [_HEADER, *_ROWS]).read_bytes()
    path = tmp_path / "截断.xlsx"
    path.write_bytes(good[: len(good) // 2])
    entries, problems = load_faq_file(path, "faq/截断.xlsx")
    assert entries == []
    assert [p.reason for p in problems] == ["无法读取 Excel 文件：文件已损坏或不是 .xlsx 格式"]


def test_csv_that_is_not_text_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(b"id,question\x00answer\n")
    entries, problems = load_faq_file(path, "faq/x.csv")
    assert entries == []
    assert len(problems) == 1
    assert "二进制" in problems[0].reason


def test_empty_csv_has_no_header(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_bytes(b"")
    entries, problems = load_faq_file(path, "faq/e.csv")
    assert entries == []
    assert len(problems) == 1
    assert problems[0].reason.startswith("缺少标题行")


def test_chinese_column_names_in_the_knowledge_folder(tmp_path: Path) -> None:
    rows: list[list[object]] = [
        [
            "编号",
            "标准问题",
            "相似问法",
            "答案",
            "分类",
            "来源文件",
            "来源条款",
            "失效日期",
            "备注",
        ],
        [
            "zfcg-zhiyi",
            ZHIYI.question,
            "中标结果不公平怎么办\n政府采购质疑的期限是多久",
            ZHIYI.answer,
            "政府采购",
            "政府采购法-2014",
            "第五十二条",
            "2030年1月1日",
            "内部备注",
        ],
        ["坏 编号", "问？", "", "答。", "", "", "", "", ""],
    ]
    path = _write_xlsx(tmp_path / "中文列名.xlsx", rows)
    entries, problems = load_faq_file(path, "faq/中文列名.xlsx")
    expected = {**ZHIYI.__dict__, "reviewed": False, "path": "faq/中文列名.xlsx"}
    assert entries == [FaqEntry(**{**expected, "expires_on": "2030-01-01"})]
    assert [(p.reason, p.fatal) for p in problems] == [
        ("未知的列 备注 已忽略", False),
        ("第3行（id: 坏 编号）「编号」列：编号不能含空白或“/”，最长 80 个字符", True),
    ]
