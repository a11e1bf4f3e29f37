"""Who is asking on a staff route: a browser session (cookie + CSRF token on every unsafe
request) or an API token (``Authorization: Bearer``), and whether their roles allow it."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Annotated

import anyio
from fastapi import Depends, Request

from service.db.engine import Database
from service.problems import Forbidden, Unauthenticated
from service.staff import accounts
from service.staff.accounts import ROLES, Staff

COOKIE = "policyqa_staff"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def database(request: Request) -> Database:
    db: Database = request.app.state.database
    return db


def client_of(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_staff(request: Request) -> Staff:
    db = database(request)
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
        staff = await anyio.to_thread.run_sync(lambda: _with(db, accounts.from_api_token, token))
        if staff is None:
            raise Unauthenticated("API 令牌无效或已被撤销")
        return staff
    cookie = request.cookies.get(COOKIE)
    if not cookie:
        raise Unauthenticated("请先登录")
    staff = await anyio.to_thread.run_sync(lambda: _with(db, accounts.from_session, cookie))
    if staff is None:
        raise Unauthenticated("登录已过期，请重新登录")
    if request.method not in SAFE_METHODS:
        await _check_csrf(request, staff)
    return staff


def _with(db: Database, find: Callable[..., Staff | None], token: str) -> Staff | None:
    with db.session() as session:
        return find(session, token)


async def _check_csrf(request: Request, staff: Staff) -> None:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not staff.csrf_token or not hmac.compare_digest(sent, staff.csrf_token):
        raise Forbidden("安全校验失败（CSRF 令牌缺失或已过期），请刷新页面后重试")


StaffDep = Annotated[Staff, Depends(current_staff)]


def require(*roles: str) -> Callable[[Staff], Awaitable[Staff]]:
    """A dependency: the signed-in staff member, who must hold one of ``roles``."""
    names = "、".join(ROLES[r] for r in roles)

    async def check(staff: StaffDep) -> Staff:
        if not staff.roles & set(roles):
            raise Forbidden(f"您没有执行此操作的权限（需要角色：{names}）")
        return staff

    return check


AgentDep = Annotated[Staff, Depends(require("agent"))]
AdminDep = Annotated[Staff, Depends(require("admin"))]
SearchDep = Annotated[Staff, Depends(require("agent", "admin"))]
# Curation (FAQ pairs and documents): editors write, reviewers approve; either may ask for a
# retirement or withhold a document; all three roles may read.
EditorDep = Annotated[Staff, Depends(require("editor"))]
ReviewerDep = Annotated[Staff, Depends(require("reviewer"))]
WriterDep = Annotated[Staff, Depends(require("editor", "reviewer"))]
CuratorDep = Annotated[Staff, Depends(require("editor", "reviewer", "admin"))]
