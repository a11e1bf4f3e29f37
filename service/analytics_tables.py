"""The dashboard's tables (Chinese headers and rows), as the pages show them and the CSV export
writes them (UTF-8 with a BOM, so that Excel reads the Chinese; cells that a spreadsheet would
take for a formula are quoted as text)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from service.analytics import OUTCOME_NAMES, OUTCOMES


def shown_outcomes(report: dict[str, Any]) -> list[str]:
    """The outcomes a table shows: clarify only when the answerer asked back in the period."""
    return [k for k in OUTCOMES if k != "clarify" or report["totals"]["clarify"]]


def table_of(report: dict[str, Any], name: str) -> tuple[list[str], list[list[Any]]]:
    """One table of the dashboard: (Chinese header, rows)."""
    outcome_keys = shown_outcomes(report)
    sat, hand, totals = report["satisfaction"], report["handoff"], report["totals"]
    summary = [
        ["问题总数", totals["questions"]],
        *[[OUTCOME_NAMES[k], totals[k]] for k in outcome_keys],
        ["评价数", sat["ratings"]],
        ["满意（有帮助）", sat["helpful"]],
        ["满意率", "" if sat["rate"] is None else f"{sat['rate']:.1%}"],
        ["转人工工单", hand["tickets"]],
        ["已有人工回复的工单", hand["replied"]],
        [
            "首次人工回复时长中位数（秒）",
            ""
            if hand["median_first_reply_seconds"] is None
            else hand["median_first_reply_seconds"],
        ],
    ]
    if name == "summary":
        return ["指标", "数值"], summary
    if name == "daily":
        return (
            ["日期", "问题数", *[OUTCOME_NAMES[k] for k in outcome_keys]],
            [[d["date"], d["questions"], *[d[k] for k in outcome_keys]] for d in report["daily"]],
        )
    if name == "outcomes":
        return ["结果", "问题数"], [[OUTCOME_NAMES[k], totals[k]] for k in outcome_keys]
    if name in ("top", "unanswered"):
        return (
            ["典型问题", "问题数", "占比", "其他问法"],
            [_group_row(g) for g in report[name]["groups"]],
        )
    rising = report["rising"]
    return (
        ["典型问题", f"本周（{rising['this_week']['start']}起）", "上周", "增加"],
        [[t["typical"], t["this_week"], t["last_week"], t["change"]] for t in rising["topics"]],
    )


TABLES = ("summary", "daily", "outcomes", "top", "unanswered", "rising")
GROUPED = ("top", "unanswered", "rising")  # the tables that need the encoder


def _group_row(g: dict[str, Any]) -> list[Any]:
    return [g["typical"], g["count"], f"{g['share']:.1%}", "；".join(g["examples"])]


def csv_text(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        # A cell starting with = + - @ would be a formula in a spreadsheet: quote it as text.
        writer.writerow(
            "'" + c if isinstance(c, str) and c[:1] in ("=", "+", "-", "@") else c for c in row
        )
    return "\ufeff" + out.getvalue()
