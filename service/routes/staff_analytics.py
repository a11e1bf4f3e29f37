"""What citizens ask, for staff (admin, editor, reviewer): ``GET /api/v1/staff/analytics`` (JSON)
and ``GET /api/v1/staff/analytics/{table}.csv`` (one table of the dashboard, UTF-8 with a BOM so
that Excel reads the Chinese)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from service.analytics import Analytics
from service.analytics_tables import GROUPED, TABLES, csv_text, table_of
from service.problems import NotFound
from service.routes.refusals import refusals
from service.routes.staff_auth import require
from service.staff.accounts import Staff

router = APIRouter(prefix="/api/v1/staff/analytics", tags=["咨询分析"])
AnalystDep = Annotated[Staff, Depends(require("admin", "editor", "reviewer"))]
CHANNEL = r"^[a-z0-9_-]{1,32}$"
_ERRORS = refusals(401, 403, described={503: "索引未加载（归类需要编码器）"})


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


@router.get(
    "/{table}.csv",
    summary="导出一张统计表（CSV）",
    responses=refusals(401, 403, 404, described={503: "索引未加载（归类需要编码器）"}),
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
