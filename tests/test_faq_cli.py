"""``policyqa faq check`` and ``policyqa faq convert``: once as the installed command, the rest
through ``policyqa.cli.main`` in this process (the command takes seconds to start)."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from indexer.faq_files import load_faq_file
from policyqa.cli import main
from tests.conftest import KNOWLEDGE, run_cli


@dataclass
class _Result:
    returncode: int
    stdout: str
    stderr: str


Cli = Callable[..., _Result]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    def run(*args: str) -> _Result:
        code = main(list(args))
        captured = capsys.readouterr()
        return _Result(code, captured.out, captured.err)

    return run


_BAD_CSV = """\
编号,标准问题,答案,分类,生效日期
ok-1,个税怎么算？,按年计算。,税收,2026年1月1日
no-answer,契税税率？,,税收,
bad-date,房产税？,按原值计算。,房产,2026-02-30
"""


def test_check_lists_row_errors_and_exits_1(tmp_path: Path) -> None:
    path = tmp_path / "批量.csv"
    path.write_bytes(_BAD_CSV.encode("gbk"))
    result = run_cli("faq", "check", str(path), "--category", "税收，预算")
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"错误 {path}：第3行（id: no-answer）「答案」列：答案不能为空",
        f"错误 {path}：第4行（id: bad-date）「分类」列：未知的分类“房产”，应为：税收、预算",
        f"错误 {path}：第4行（id: bad-date）「生效日期」列：“2026-02-30”不是有效的日期",
        "共 3 条：正确 1 条，有错误 2 条",
    ]


def test_check_without_categories_checks_the_rest(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "批量.csv"
    path.write_text(_BAD_CSV.replace(",,税收", ",有答案,税收"), encoding="utf-8")
    result = cli("faq", "check", str(path))
    assert result.returncode == 1
    assert "第4行（id: bad-date）「生效日期」列" in result.stdout
    assert "分类" not in result.stdout


def test_check_a_good_file_exits_0(cli: Cli) -> None:
    result = cli("faq", "check", str(KNOWLEDGE / "faq" / "税收.yaml"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == "共 15 条：正确 15 条，有错误 0 条"


def test_check_a_file_that_is_not_what_its_name_says(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "导出.csv"
    converted = cli(
        "faq", "convert", str(KNOWLEDGE / "faq" / "税收.yaml"), str(tmp_path / "a.xlsx")
    )
    assert converted.returncode == 0, converted.stderr
    path.write_bytes((tmp_path / "a.xlsx").read_bytes())
    result = cli("faq", "check", str(path))
    assert result.returncode == 1
    assert result.stdout == ""
    assert "扩展名是 .csv，但文件内容是Excel 工作簿（.xlsx）" in result.stderr
    missing = cli("faq", "check", str(tmp_path / "没有这个文件.csv"))
    assert missing.returncode == 2
    assert "无法读取" in missing.stderr


def test_convert_yaml_csv_xlsx_yaml_keeps_every_entry(tmp_path: Path, cli: Cli) -> None:
    source = KNOWLEDGE / "faq" / "个人所得税.yaml"
    original, problems = load_faq_file(source, "x")
    assert problems == [] and len(original) > 10
    steps = [source, tmp_path / "a.csv", tmp_path / "b.xlsx", tmp_path / "c.yaml"]
    for before, after in zip(steps, steps[1:], strict=False):
        result = cli("faq", "convert", str(before), str(after))
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip() == f"已写入 {after}：{len(original)} 条"
    final, problems = load_faq_file(tmp_path / "c.yaml", "x")
    assert problems == []
    assert final == original
    assert (tmp_path / "a.csv").read_bytes().startswith(b"\xef\xbb\xbfid,question,variants,")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.xlsx", "c.yaml"]


def test_convert_with_chinese_headers(tmp_path: Path, cli: Cli) -> None:
    result = cli(
        "faq",
        "convert",
        str(KNOWLEDGE / "faq" / "会计.yaml"),
        str(tmp_path / "会计.xlsx"),
        "--chinese-headers",
    )
    assert result.returncode == 0, result.stderr
    sheet = openpyxl.load_workbook(tmp_path / "会计.xlsx").worksheets[0]
    assert [c.value for c in sheet[1]][:4] == ["编号", "标准问题", "相似问法", "答案"]
    back = cli("faq", "convert", str(tmp_path / "会计.xlsx"), str(tmp_path / "会计.csv"))
    assert back.returncode == 0, back.stderr
    header = next(csv.reader(io.StringIO((tmp_path / "会计.csv").read_text("utf-8-sig"))))
    assert header[0] == "id"


def test_convert_refuses_a_file_with_errors_and_writes_nothing(tmp_path: Path, cli: Cli) -> None:
    path = tmp_path / "批量.csv"
    path.write_text(_BAD_CSV, encoding="utf-8")
    out = tmp_path / "out.xlsx"
    result = cli("faq", "convert", str(path), str(out))
    assert result.returncode == 1
    assert "第3行（id: no-answer）「答案」列：答案不能为空" in result.stdout
    assert f"共 3 条：正确 1 条，有错误 2 条；未写入 {out}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["批量.csv"]
    unsupported = cli("faq", "convert", str(path), str(tmp_path / "out.json"))
    assert unsupported.returncode == 2
    assert "不支持的输出类型：.json" in unsupported.stderr
