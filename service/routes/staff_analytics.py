"""What citizens ask, for staff (admin, editor, reviewer): ``GET /api/v1/staff/analytics`` (JSON)
and ``GET /api/v1/staff/analytics/{table}.csv`` (one table of the dashboard, UTF-8 with a BOM so
that Excel reads the Chinese)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from service.analytics import OUTCOME_NAMES, OUTCOMES, Analytics
from service.problems import NotFound
from service.routes.staff_auth import require
from service.schemas import ErrorResponse
from service.staff.accounts import Staff

router = APIRouter(prefix="/api/v1/staff/analytics", tags=["咨询分析"])
AnalystDep = Annotated[Staff, Depends(require("admin", "editor", "reviewer"))]
CHANNEL = r"^[a-z0-9_-]{1,32}$"
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse},
    403: {"model": ErrorResponse},
    503: {"model": ErrorResponse, "description": "索引未加载（归类需要编码器）"},
}


def analytics_of(request: Request) -> Analytics:
    analytics: Analytics = request.app.state.analytics
    return analytics


async def compute(
    request: Request,
    start: date | None,
    end: date | None,
    channel: str | None,
    *,
    grouped: bool = True,
) -> dict[str, Any]:
    analytics = analytics_of(request)
    period = analytics.period(start=start, end=end, channel=channel)
    return await anyio.to_thread.run_sync(lambda: analytics.report(period, grouped=grouped))


def shown_outcomes(report: dict[str, Any]) -> list[str]:
    """The outcomes a table shows: clarify only when the answerer asked back in the period."""
    return [k for k in OUTCOMES if k != "clarify" or report["totals"]["clarify"]]


Start = Annotated[date | None, Query(description="开始日期（含，办公时区）；默认结束日期前 29 天")]
End = Annotated[date | None, Query(description="结束日期（含）；默认今天")]
Channel = Annotated[
    str | None, Query(pattern=CHANNEL, description="渠道（web、wechat…）；默认全部")
]


@router.get(
    "", summary="咨询统计：每日问题量、回答结果、满意度、人工回复时长、问题归类", responses=_ERRORS
)
async def analytics(
    staff: AnalystDep,
    request: Request,
    start: Start = None,
    end: End = None,
    channel: Channel = None,
) -> dict[str, Any]:
    return await compute(request, start, end, channel)


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


@router.get(
    "/{table}.csv",
    summary="导出一张统计表（CSV）",
    responses={**_ERRORS, 404: {"model": ErrorResponse}},
    response_class=Response,
)
async def export(
    staff: AnalystDep,
    request: Request,
    table: str,
    start: Start = None,
    end: End = None,
    channel: Channel = None,
) -> Response:
    if table not in TABLES:
        raise NotFound(f"没有名为 {table} 的统计表（可选：{'、'.join(TABLES)}）")
    report = await compute(request, start, end, channel, grouped=table in GROUPED)
    header, rows = table_of(report, table)
    period = report["period"]
    name = (
        f"policyqa-{table}-{period['start']}-{period['end']}{'-' + channel if channel else ''}.csv"
    )
    return Response(
        csv_text(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )
