"""The audit log, for admins: ``GET /api/v1/staff/audit`` with filters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query, Request

from service.routes.refusals import refusals
from service.routes.staff_auth import AdminDep, database
from service.staff import audit

router = APIRouter(prefix="/api/v1/staff", tags=["审计日志"])


@router.get(
    "/audit",
    summary="审计日志（最新的在前）",
    responses=refusals(401, 403),
)
async def audit_log(
    staff: AdminDep,
    request: Request,
    action: Annotated[str | None, Query(max_length=32)] = None,
    actor: Annotated[str | None, Query(max_length=64)] = None,
    target: Annotated[str | None, Query(max_length=128)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    def run() -> list[dict[str, Any]]:
        with database(request).session() as session:
            return audit.entries(
                session,
                action=action,
                actor=actor,
                target=target,
                since=_naive_utc(since),
                until=_naive_utc(until),
                limit=limit,
            )

    return {"entries": await anyio.to_thread.run_sync(run)}


def _naive_utc(moment: datetime | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return moment
    return moment.astimezone(UTC).replace(tzinfo=None)
