"""indexer.metadata on real documents: the Tai'an notice (no front matter), the 64 raw laws of
../shared, Chinese-numeral dates, and metadata errors that name the offending key."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest

from indexer.documents import DocumentError, load_document
from indexer.metadata import (
    MetadataError,
    extract_metadata,
    resolve_metadata,
    version_date_from_name,
)
from indexer.models import Disclosure, Kind, Status
from tests.conftest import KNOWLEDGE, SHARED

NOTICE = (
    KNOWLEDGE
    / "policies"
    / "notices"
    / "泰财办〔2021〕2号-关于做好新形势下财政工作政务公开的通知.txt"
)
RAW_LAWS = SHARED / "knowledge" / "laws"
NO_SHARED = f"{RAW_LAWS} is absent: the raw laws live in ../shared beside the checkout"
LAW_FILES = sorted(RAW_LAWS.glob("*.md")) if RAW_LAWS.is_dir() else []
NPCSC = "全国人民代表大会常务委员会"

# ---------------------------------------------------------------- the real notice


def test_notice_metadata_is_extracted_from_its_text() -> None:
    found = extract_metadata(NOTICE.read_text(encoding="utf-8"))
    assert found == {
        "doc_no": "泰财办〔2021〕2号",
        "title": "关于做好新形势下财政工作政务公开的通知",
        "issued_on": "2021-06-15",  # the signature date, not the later 印发 line's date
        "issuer": "泰安市财政局",  # the signing line, not 泰安市财政局办公室 (who printed it)
        "disclosure": "主动公开",
    }


def test_notice_loads_as_a_public_document_without_front_matter() -> None:
    doc = load_document(NOTICE, KNOWLEDGE)
    meta = doc.meta
    assert doc.path == "policies/notices/" + NOTICE.name
    assert meta.id == NOTICE.stem
    assert meta.title == "关于做好新形势下财政工作政务公开的通知"
    assert meta.doc_no == "泰财办〔2021〕2号"
    assert meta.issued_on == "2021-06-15"
    assert meta.issuer == "泰安市财政局"
    assert meta.disclosure == Disclosure.PUBLIC
    assert meta.disclosure_source == "text"
    assert meta.status == Status.CURRENT and meta.kind == Kind.POLICY


# ---------------------------------------------------------------- the 64 raw laws


def test_all_64_raw_laws_are_there() -> None:
    if not LAW_FILES:
        pytest.skip(NO_SHARED)
    assert len(LAW_FILES) == 64


def _header(text: str) -> list[str]:
    head = text.split("<!-- INFO END -->", 1)[0]
    return [line.strip() for line in head.splitlines() if line.strip()]


@pytest.mark.parametrize(
    "law",
    LAW_FILES or [pytest.param(None, marks=pytest.mark.skip(reason=NO_SHARED))],
    ids=lambda p: p.stem if isinstance(p, Path) else "absent",
)
def test_raw_law_metadata(law: Path, tmp_path: Path) -> None:
    text = law.read_text(encoding="utf-8")
    assert not text.startswith("---"), "the raw laws carry no front matter"
    copy = tmp_path / law.name
    shutil.copyfile(law, copy)

    doc = load_document(copy, tmp_path)
    meta = doc.meta
    heading = next(line[2:].strip() for line in text.splitlines() if line.startswith("# "))
    assert meta.title == heading
    name_date = re.search(r"\((\d{4}-\d{2}-\d{2})\)\.md$", law.name)
    assert name_date is not None
    assert meta.issued_on == name_date[1]  # the version date in the file name
    assert meta.id == law.name[: -len(".md")]
    # Nothing says the raw text may be published: fail closed.
    assert meta.disclosure == Disclosure.WITHHELD
    assert meta.disclosure_source == "default"

    dated = [line for line in _header(text) if re.match(r"\d{4}年\d{1,2}月\d{1,2}日", line)]
    if law.name.startswith("行政法规_"):
        # Three regulations carry no adoption line at all: nothing names the issuer.
        assert meta.issuer == ("国务院" if dated else None)
    else:
        assert meta.issuer == NPCSC
    if meta.effective_on is not None:
        assert any(line.rstrip("　 ").endswith("施行") for line in dated)
        assert meta.effective_on >= "1980-01-01"


def test_law_header_dates_and_effective_date() -> None:
    if not LAW_FILES:
        pytest.skip(NO_SHARED)
    by_name = {p.name: p for p in LAW_FILES}
    regulation = extract_metadata(
        by_name["行政法规_政府采购法实施条例(2015-01-30).md"].read_text(encoding="utf-8")
    )
    assert regulation["issued_on"] == "2015-01-30"  # 国务院令第658号公布
    assert regulation["effective_on"] == "2015-03-01"  # the 施行 line is not the version date
    assert regulation["issuer"] == "国务院"
    accounting = extract_metadata(
        by_name["经济法_会计法(2024-06-28).md"].read_text(encoding="utf-8")
    )
    assert accounting["issued_on"] == "2024-06-28"  # the latest amendment, not 1985 adoption
    assert accounting["title"] == "中华人民共和国会计法"


def test_version_date_in_file_name_beats_an_older_header_date(tmp_path: Path) -> None:
    if not LAW_FILES:
        pytest.skip(NO_SHARED)
    law = RAW_LAWS / "行政法规_企业债券管理条例(2011-01-08).md"
    # The header only names the 1993 promulgation; the file is the 2011 revision.
    assert extract_metadata(law.read_text(encoding="utf-8"))["issued_on"] == "1993-08-02"
    shutil.copyfile(law, tmp_path / law.name)
    assert load_document(tmp_path / law.name, tmp_path).meta.issued_on == "2011-01-08"


def test_version_date_from_name() -> None:
    assert version_date_from_name("经济法_会计法(2024-06-28).md") == "2024-06-28"
    assert version_date_from_name("会计法（2017-11-04）.md") == "2017-11-04"
    assert version_date_from_name("会计法(2017-02-30).md") is None
    assert version_date_from_name("会计法-2024.md") is None


# ---------------------------------------------------------------- notices written by hand

_NOTICE_CN_DATE = """\
泰安市财政局文件

泰财预〔2021〕17号

关于做好2022年市级部门预算编制工作的通知

市直各部门：

一、编制原则

（一）坚持量入为出。各部门要严格按照预算法的规定编制预算。

泰安市财政局
二〇二一年十月二十九日

公开方式：依申请公开
"""


def test_chinese_numeral_signature_date() -> None:
    found = extract_metadata(_NOTICE_CN_DATE)
    assert found == {
        "doc_no": "泰财预〔2021〕17号",
        "title": "关于做好2022年市级部门预算编制工作的通知",
        "issued_on": "2021-10-29",
        "issuer": "泰安市财政局",
        "disclosure": "依申请公开",
    }


@pytest.mark.parametrize(
    ("line", "iso"),
    [
        ("二〇二一年六月十五日", "2021-06-15"),
        ("二○二一年六月十五日", "2021-06-15"),  # ○ (white circle) typed for 〇
        ("二〇二〇年十月一日", "2020-10-01"),
        ("二〇一九年十二月三十一日", "2019-12-31"),
        ("二〇二一年十一月二十日", "2021-11-20"),
        ("2021年6月15日", "2021-06-15"),
        ("2021 年 6 月 5 日", "2021-06-05"),
    ],
)
def test_date_forms(line: str, iso: str) -> None:
    text = f"关于开展财政资金监督检查的通知\n\n各区县财政局：\n\n请认真组织实施。\n\n泰安市财政局\n{line}\n"
    found = extract_metadata(text)
    assert found["issued_on"] == iso
    assert found["issuer"] == "泰安市财政局"


def test_impossible_date_is_not_a_date() -> None:
    text = (
        "关于开展财政资金监督检查的通知\n\n请认真组织实施。\n\n泰安市财政局\n二〇二一年二月三十日\n"
    )
    assert "issued_on" not in extract_metadata(text)


@pytest.mark.parametrize(
    ("doc_no_line", "expected"),
    [
        ("泰财办〔2021〕2号", "泰财办〔2021〕2号"),
        ("泰财办[2021]2号", "泰财办[2021]2号"),
        ("泰财办【2021】2号", "泰财办【2021】2号"),
        ("财预〔2021〕 2 号", "财预〔2021〕2号"),
    ],
)
def test_doc_no_brackets(doc_no_line: str, expected: str) -> None:
    found = extract_metadata(f"泰安市财政局文件\n\n{doc_no_line}\n\n关于印发预算公开办法的通知\n")
    assert found["doc_no"] == expected
    assert found["title"] == "关于印发预算公开办法的通知"


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("信息公开选项：主动公开", "主动公开"),
        ("公开方式：依申请公开", "依申请公开"),
        ("公开属性: 不予公开", "不予公开"),
    ],
)
def test_disclosure_line(line: str, value: str) -> None:
    assert extract_metadata(f"关于印发预算公开办法的通知\n\n{line}\n")["disclosure"] == value


def test_text_without_disclosure_fails_closed() -> None:
    meta = resolve_metadata({}, text="关于印发预算公开办法的通知\n\n正文。\n", default_id="办法")
    assert meta.disclosure == Disclosure.WITHHELD
    assert meta.disclosure_source == "default"
    assert meta.title == "关于印发预算公开办法的通知"


def test_front_matter_wins_over_the_text() -> None:
    meta = resolve_metadata(
        {"title": "预算编制通知", "issued_on": dt.date(2021, 11, 1), "disclosure": "主动公开"},
        text=_NOTICE_CN_DATE,
        default_id="泰财预〔2021〕17号",
    )
    assert meta.title == "预算编制通知"
    assert meta.issued_on == "2021-11-01"  # YAML dates arrive as datetime.date
    assert meta.disclosure == Disclosure.PUBLIC and meta.disclosure_source == "metadata"
    assert meta.doc_no == "泰财预〔2021〕17号"  # still extracted: not given
    assert meta.issuer == "泰安市财政局"


def test_interpretation_kind_follows_interprets() -> None:
    meta = resolve_metadata(
        {"interprets": "政府采购法-2014", "disclosure": "主动公开"},
        text="问：x？\n答：y。",
        default_id="解读",
    )
    assert meta.kind == Kind.INTERPRETATION


# ---------------------------------------------------------------- errors name the key


@pytest.mark.parametrize(
    ("given", "key"),
    [
        ({"status": "有效"}, "status"),
        ({"disclosure": "公开"}, "disclosure"),
        ({"kind": "law"}, "kind"),
        ({"issued_on": "2021/06/15"}, "issued_on"),
        ({"issued_on": "2021-02-30"}, "issued_on"),
        ({"effective_on": "明年"}, "effective_on"),
        ({"author": "张三"}, "author"),
        ({"id": "政府采购 法"}, "id"),
        ({"id": "laws/政府采购法"}, "id"),
        ({"id": "法" * 81}, "id"),
        ({"title": ["政府采购法"]}, "title"),
        ({"kind": "interpretation"}, "interprets"),
    ],
)
def test_metadata_errors_name_the_key(given: dict[str, object], key: str) -> None:
    with pytest.raises(MetadataError) as excinfo:
        resolve_metadata(
            {"disclosure": "主动公开", **given}, text="第一条 为了规范。", default_id="doc"
        )
    assert key in str(excinfo.value)


def test_unknown_value_in_a_file_is_a_document_error(tmp_path: Path) -> None:
    path = tmp_path / "政府采购法.md"
    path.write_text("---\nstatus: 现行\ndisclosure: 主动公开\n---\n第一条 为了规范。\n", "utf-8")
    with pytest.raises(DocumentError, match="status") as excinfo:
        load_document(path, tmp_path)
    assert "现行有效" in str(excinfo.value)  # the message lists the allowed values
