"""The analytics pages under ``/admin/analytics``: the dashboard (ECharts drawn by
``static/analytics.js`` from the page's JSON data block, every chart with its table and CSV
export) and the printable weekly or monthly report for the 政务公开 work summary."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from service.analytics import OUTCOME_NAMES, Period
from service.analytics_tables import shown_outcomes
from service.problems import Unavailable
from service.routes.admin_pages import page
from service.routes.staff_analytics import (
    CHANNEL,
    AnalystDep,
    End,
    Start,
    analytics_of,
    compute,
)

router = APIRouter(prefix="/admin/analytics", include_in_schema=False)
CHANNEL_NAMES = {"web": "网站", "wechat": "微信"}


def _query(report: dict[str, Any]) -> str:
    period = report["period"]
    query = f"start={period['start']}&end={period['end']}"
    return query + (f"&channel={period['channel']}" if period["channel"] else "")


def _context(report: dict[str, Any]) -> dict[str, Any]:
    return {
        "r": report,
        "query": _query(report),
        "outcomes": {k: OUTCOME_NAMES[k] for k in shown_outcomes(report)},
        "channel_names": CHANNEL_NAMES,
        "seconds": _duration,
    }


def _duration(seconds: int | None) -> str:
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} 秒"
    if seconds < 3600:
        return f"{seconds // 60} 分 {seconds % 60} 秒"
    return f"{seconds // 3600} 小时 {seconds % 3600 // 60} 分"


@router.get("", response_class=HTMLResponse)
async def dashboard(
    request: Request,
    staff: AnalystDep,
    start: Start = None,
    end: End = None,
    channel: Annotated[str | None, Query(pattern=f"{CHANNEL}|^$")] = None,
) -> Response:
    report, notice = await compute_or_ungrouped(request, start, end, channel or None)
    return page(request, "analytics", "咨询分析", staff, flash=notice, **_context(report))


async def compute_or_ungrouped(
    request: Request, start: date | None, end: date | None, channel: str | None
) -> tuple[Any, str | None]:
    """The report, or — while no index is loaded, so no encoder can group the questions — the
    report without its groups and a notice saying why: the counts need no encoder."""
    try:
        return await compute(request, start, end, channel), None
    except Unavailable as exc:
        report = await compute(request, start, end, channel, grouped=False)
        return report, f"问题归类暂不可用（{exc.message}），其余统计照常显示。"


def report_period(kind: str, day: date | None, today: date) -> tuple[date, date]:
    """The week (Monday to Sunday) or calendar month containing ``day``; by default the last
    complete one before ``today``."""
    if kind == "week":
        day = day or today - timedelta(days=today.weekday() + 1)
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=6)
    day = day or today.replace(day=1) - timedelta(days=1)
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


@router.get("/report", response_class=HTMLResponse)
async def report_page(
    request: Request,
    staff: AnalystDep,
    kind: Literal["week", "month"] = "week",
    day: Annotated[date | None, Query(description="报告期内的任一天")] = None,
    channel: Annotated[str | None, Query(pattern=f"{CHANNEL}|^$")] = None,
) -> Response:
    analytics = analytics_of(request)
    today = Period.of(start=None, end=None, channel=None, zone=analytics.zone).end
    first, last = report_period(kind, day, today)
    report, notice = await compute_or_ungrouped(request, first, last, channel or None)
    title = f"咨询情况{'周报' if kind == 'week' else '月报'}"
    previous = await anyio.to_thread.run_sync(
        lambda: analytics.totals(
            analytics.period(
                start=report_period(kind, first - timedelta(days=1), today)[0],
                end=first - timedelta(days=1),
                channel=channel or None,
            )
        )
    )
    return page(
        request,
        "analytics_report",
        title,
        staff,
        flash=notice,
        kind=kind,
        previous=previous,
        **_context(report),
    )
