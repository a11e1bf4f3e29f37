"""The staff pages under ``/admin``: server-rendered Chinese HTML (Jinja2), forms with CSRF
tokens, no JavaScript needed and nothing loaded from elsewhere."""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from service.desk import Actor, Desk
from service.faq_drafts import ticket_draft
from service.problems import Forbidden, Problem
from service.routes.staff_auth import COOKIE, AdminDep, AgentDep, SearchDep, StaffDep, client_of
from service.routes.staff_session import set_cookie, sign_in, sign_out
from service.routes.staff_users import change_roles, create, list_users
from service.staff import audit
from service.staff.accounts import ROLES, Staff

router = APIRouter(prefix="/admin", include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
LOGIN_CSRF = "policyqa_login_csrf"
STATUSES = {"open": "待认领", "claimed": "处理中", "closed": "已关闭"}
CHANNELS = {"web": "网站", "wechat": "微信"}
REASONS = {"human": "要求人工", "complaint": "投诉举报", "request": "接受转人工建议"}
MESSAGE_ROLES = {"citizen": "市民", "bot": "智能回答", "staff": "工作人员", "system": "系统"}
ACTIONS = {
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出",
    "claim": "认领",
    "reply": "回复",
    "transfer": "转交",
    "close": "关闭工单",
    "user_create": "新建人员",
    "role_change": "修改角色",
    "token_create": "创建令牌",
    "faq_draft": "问答草稿",
    "faq_submit": "问答提交审核",
    "faq_publish": "问答发布",
    "faq_return": "问答退回",
    "faq_restore": "问答恢复",
    "faq_retire": "问答下线",
    "doc_draft": "文件草稿",
    "doc_submit": "文件提交审核",
    "doc_publish": "文件发布",
    "doc_return": "文件退回",
    "doc_withhold": "文件不予公开",
}


def waiting(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} 秒"
    if seconds < 3600:
        return f"{seconds // 60} 分钟"
    if seconds < 86400:
        return f"{seconds // 3600} 小时 {seconds % 3600 // 60} 分钟"
    return f"{seconds // 86400} 天 {seconds % 86400 // 3600} 小时"


def page(request: Request, name: str, title: str, staff: Staff | None, **context: Any) -> Response:
    return templates.TemplateResponse(
        request,
        f"admin/{name}.html",
        {
            "title": title,
            "staff": staff,
            "statuses": STATUSES,
            "channels": CHANNELS,
            "reasons": REASONS,
            "roles": MESSAGE_ROLES,
            "role_names": ROLES,
            "waiting": waiting,
            **context,
        },
    )


def desk_of(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


DeskDep = Annotated[Desk, Depends(desk_of)]


@router.get("/login", response_class=HTMLResponse)
async def login_form(request: Request) -> Response:
    token = secrets.token_urlsafe(24)
    response = page(request, "login", "登录", None, login_csrf=token)
    response.set_cookie(
        LOGIN_CSRF,
        token,
        httponly=True,
        secure=request.app.state.settings.cookie_secure,
        samesite="strict",
        path="/admin",
    )
    return response


@router.post("/login")
async def login(
    request: Request,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    csrf_token: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF, "")
    if not expected or not hmac.compare_digest(expected, csrf_token):
        raise Forbidden("安全校验失败（CSRF 令牌缺失或已过期），请刷新登录页后重试")
    try:
        token, staff = await anyio.to_thread.run_sync(lambda: sign_in(request, name, password))
    except Problem as exc:
        response = page(request, "login", "登录", None, login_csrf=expected, error=exc.message)
        response.status_code = exc.status
        return response
    response = RedirectResponse(landing(staff), 303)
    set_cookie(request, response, token)
    response.delete_cookie(LOGIN_CSRF, path="/admin")
    return response


def landing(staff: Staff) -> str:
    """The first page after sign-in: the work of the person's roles."""
    if "agent" in staff.roles:
        return "/admin"
    if staff.roles & {"editor", "reviewer"}:
        return "/admin/faq"
    return "/admin/search"


@router.post("/logout")
async def logout(request: Request, staff: StaffDep) -> Response:
    await sign_out(request, staff)
    response = RedirectResponse("/admin/login", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("", response_class=HTMLResponse)
async def queue(request: Request, staff: AgentDep, desk: DeskDep) -> Response:
    tickets = await anyio.to_thread.run_sync(lambda: desk.queue())
    return page(request, "queue", "工单队列", staff, tickets=tickets)


@router.get("/tickets/{ticket_id}", response_class=HTMLResponse)
async def ticket(request: Request, ticket_id: str, staff: AgentDep, desk: DeskDep) -> Response:
    body = await anyio.to_thread.run_sync(lambda: desk.ticket(ticket_id))
    agents = await anyio.to_thread.run_sync(desk.agents)
    return page(
        request,
        "ticket",
        "工单",
        staff,
        t=body,
        agents=[a for a in agents if a != staff.name],
        faq_draft=ticket_draft(body),
    )


def _back(ticket_id: str) -> Response:
    return RedirectResponse(f"/admin/tickets/{ticket_id}", status_code=303)


@router.post("/tickets/{ticket_id}/claim")
async def claim(request: Request, ticket_id: str, staff: AgentDep, desk: DeskDep) -> Response:
    actor = Actor(staff, client_of(request))
    await desk.claim(ticket_id=ticket_id, actor=actor)
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/reply")
async def reply(
    request: Request,
    ticket_id: str,
    staff: AgentDep,
    desk: DeskDep,
    text: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    await desk.reply(ticket_id=ticket_id, actor=Actor(staff, client_of(request)), text=text)
    return _back(ticket_id)


@router.post("/tickets/{ticket_id}/transfer")
async def transfer(
    request: Request,
    ticket_id: str,
    staff: AgentDep,
    desk: DeskDep,
    to: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    actor = Actor(staff, client_of(request))
    await anyio.to_thread.run_sync(lambda: desk.transfer(ticket_id=ticket_id, actor=actor, to=to))
    return RedirectResponse("/admin", status_code=303)


@router.post("/tickets/{ticket_id}/close")
async def close(
    request: Request,
    ticket_id: str,
    staff: AgentDep,
    desk: DeskDep,
    resolution: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    actor = Actor(staff, client_of(request))
    await desk.close(ticket_id=ticket_id, actor=actor, resolution=resolution)
    return _back(ticket_id)


@router.get("/search", response_class=HTMLResponse)
async def search(request: Request, staff: SearchDep, desk: DeskDep, q: str = "") -> Response:
    q = q.strip()[:100]
    results = await anyio.to_thread.run_sync(lambda: desk.search(text=q)) if q else []
    return page(request, "search", "会话记录", staff, q=q, results=results)


@router.get("/users", response_class=HTMLResponse)
async def users(request: Request, staff: AdminDep) -> Response:
    rows = await anyio.to_thread.run_sync(lambda: list_users(request))
    return page(request, "users", "人员与角色", staff, users=rows)


@router.post("/users")
async def create_user(
    request: Request,
    staff: AdminDep,
    name: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=256)],
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    await anyio.to_thread.run_sync(lambda: create(request, staff, name, password, roles or []))
    return RedirectResponse("/admin/users", status_code=303)


@router.post("/users/{user_id}/roles")
async def set_roles(
    request: Request,
    user_id: int,
    staff: AdminDep,
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    await anyio.to_thread.run_sync(lambda: change_roles(request, staff, user_id, roles or []))
    return RedirectResponse("/admin/users", status_code=303)


@router.get("/audit", response_class=HTMLResponse)
async def audit_page(
    request: Request, staff: AdminDep, action: str = "", actor: str = ""
) -> Response:
    def run() -> list[dict[str, Any]]:
        with request.app.state.database.session() as session:
            return audit.entries(
                session, action=action or None, actor=actor.strip() or None, limit=300
            )

    entries = await anyio.to_thread.run_sync(run)
    return page(
        request,
        "audit",
        "审计日志",
        staff,
        entries=entries,
        actions=ACTIONS,
        action=action,
        actor=actor,
    )
