"""The referral file (service/data/referrals.txt): the shipped one parses whole, and an edited one
with a malformed line fails with the file and line named instead of losing the line silently."""

from __future__ import annotations

import pytest

from service.referrals import OURS, parse_referrals, referrals


def test_the_shipped_file_parses_with_the_windows_own_subjects() -> None:
    lines = referrals()
    assert lines[0].body == OURS and "税" in lines[0].subjects and lines[0].actions == ()
    bodies = {line.body for line in lines[1:]}
    assert {"证券公司", "教育部门或学校", "开户银行", "住房公积金管理中心"} <= bodies
    assert all(line.subjects and line.actions for line in lines[1:])


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("证券公司\t股票|证券\n", "expected body<TAB>subjects<TAB>actions"),
        ("证券公司 股票 开户\n", "expected body<TAB>subjects<TAB>actions"),
        ("证券公司\t股票||证券\t开户\n", "an empty body, subject or action"),
        ("证券公司\t股票\t开户|\n", "an empty body, subject or action"),
        ("\t股票\t开户\n", "an empty body, subject or action"),
    ],
)
def test_a_malformed_line_is_named(text: str, problem: str) -> None:
    with pytest.raises(ValueError) as raised:
        parse_referrals("# comment\n\n" + text, "referrals.txt")
    assert str(raised.value).startswith("referrals.txt:3: " + problem), raised.value


def test_comments_and_blank_lines_are_skipped() -> None:
    lines = parse_referrals("# a\n\n本窗口\t税\n证券公司\t股票\t开户|销户\n", "x")
    assert [(r.body, r.subjects, r.actions) for r in lines] == [
        (OURS, ("税",), ()),
        ("证券公司", ("股票",), ("开户", "销户")),
    ]
