"""Staff sign-in and sign-out, who am I, API tokens: ``/api/v1/staff/session``, ``…/tokens``."""

from __future__ import annotations

import anyio
from fastapi import APIRouter, Request, Response

from service.desk_schemas import LoginRequest, StaffOut, StatusResponse, TokenCreate, TokenOut
from service.problems import Unauthenticated
from service.routes.refusals import refusals
from service.routes.staff_auth import COOKIE, StaffDep, client_of, database
from service.schemas import ErrorResponse
from service.staff import accounts, audit
from service.staff.accounts import SESSION_HOURS, Staff

router = APIRouter(prefix="/api/v1/staff", tags=["工作人员"])
_errors = refusals(401, 403)


def _out(staff: Staff) -> StaffOut:
    return StaffOut(
        id=staff.id, name=staff.name, roles=sorted(staff.roles), csrf_token=staff.csrf_token
    )


def sign_in(request: Request, name: str, password: str) -> tuple[str, Staff]:
    """Shared by the JSON route and the sign-in form. A refusal is recorded first."""
    db, client = database(request), client_of(request)
    try:
        with db.session() as session:
            return accounts.login(session, name=name, password=password, client=client)
    except Unauthenticated:
        with db.session() as session:
            accounts.record_failure(session, name=name, client=client)
        raise


def set_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        secure=request.app.state.settings.cookie_secure,
        samesite="strict",
        path="/",
    )


@router.post(
    "/session",
    response_model=StaffOut,
    summary="工作人员登录",
    responses={**_errors, 429: {"model": ErrorResponse, "description": "登录失败次数过多"}},
)
async def login(body: LoginRequest, request: Request, response: Response) -> StaffOut:
    token, staff = await anyio.to_thread.run_sync(
        lambda: sign_in(request, body.name, body.password)
    )
    set_cookie(request, response, token)
    return _out(staff)


@router.get("/session", response_model=StaffOut, summary="当前登录的工作人员", responses=_errors)
async def me(staff: StaffDep) -> StaffOut:
    return _out(staff)


@router.delete("/session", response_model=StatusResponse, summary="退出登录", responses=_errors)
async def logout(staff: StaffDep, request: Request, response: Response) -> StatusResponse:
    await sign_out(request, staff)
    response.delete_cookie(COOKIE, path="/")
    return StatusResponse(status="ok")


@router.post("/tokens", response_model=TokenOut, summary="为自己创建 API 令牌", responses=_errors)
async def create_token(body: TokenCreate, staff: StaffDep, request: Request) -> TokenOut:
    def run() -> str:
        with database(request).session() as session:
            token = accounts.create_api_token(session, user_id=staff.id, name=body.name)
            audit.record(
                session,
                actor_id=staff.id,
                actor_name=staff.name,
                action="token_create",
                target=f"user:{staff.name}",
                detail={"name": body.name},
                client=client_of(request),
            )
            return token

    return TokenOut(token=await anyio.to_thread.run_sync(run), name=body.name)


async def sign_out(request: Request, staff: Staff) -> None:
    """Ends the staff member's browser session and records it (the API and the /admin pages)."""

    def run() -> None:
        with database(request).session() as session:
            if staff.session_id:
                accounts.logout(session, staff.session_id)
            audit.record(
                session,
                actor_id=staff.id,
                actor_name=staff.name,
                action="logout",
                client=client_of(request),
            )

    await anyio.to_thread.run_sync(run)
