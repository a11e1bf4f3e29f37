"""The handoff desk for agents: ``/api/v1/staff/tickets`` and conversation search."""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query, Request

from service.desk import Actor, Desk
from service.desk_schemas import CloseRequest, ReplyRequest, TransferRequest
from service.routes.refusals import refusals
from service.routes.staff_auth import AgentDep, SearchDep, client_of

router = APIRouter(prefix="/api/v1/staff", tags=["人工服务台"])
_errors = refusals(401, 403, 404, 409, 422)


async def get_desk(request: Request) -> Desk:
    desk: Desk = request.app.state.desk
    return desk


DeskDep = Annotated[Desk, Depends(get_desk)]


@router.get("/tickets", summary="工单队列（最早的在前）", responses=_errors)
async def queue(
    staff: AgentDep,
    desk: DeskDep,
    status: Annotated[str | None, Query(pattern="^(open|claimed|closed)$")] = None,
    mine: bool = False,
) -> dict[str, Any]:
    tickets = await anyio.to_thread.run_sync(
        lambda: desk.queue(status=status, mine=staff.id if mine else None)
    )
    return {"tickets": tickets}


@router.get("/tickets/{ticket_id}", summary="工单与会话", responses=_errors)
async def ticket(ticket_id: str, staff: AgentDep, desk: DeskDep) -> dict[str, Any]:
    return await anyio.to_thread.run_sync(lambda: desk.ticket(ticket_id))


@router.post("/tickets/{ticket_id}/claim", summary="认领工单", responses=_errors)
async def claim(ticket_id: str, staff: AgentDep, desk: DeskDep, request: Request) -> dict[str, Any]:
    actor = Actor(staff, client_of(request))
    return await desk.claim(ticket_id=ticket_id, actor=actor)


@router.post("/tickets/{ticket_id}/messages", summary="回复市民", responses=_errors)
async def reply(
    ticket_id: str, body: ReplyRequest, staff: AgentDep, desk: DeskDep, request: Request
) -> dict[str, Any]:
    return await desk.reply(
        ticket_id=ticket_id, actor=Actor(staff, client_of(request)), text=body.text
    )


@router.post("/tickets/{ticket_id}/transfer", summary="转交工单", responses=_errors)
async def transfer(
    ticket_id: str, body: TransferRequest, staff: AgentDep, desk: DeskDep, request: Request
) -> dict[str, Any]:
    actor = Actor(staff, client_of(request))
    return await anyio.to_thread.run_sync(
        lambda: desk.transfer(ticket_id=ticket_id, actor=actor, to=body.to)
    )


@router.post("/tickets/{ticket_id}/close", summary="关闭工单", responses=_errors)
async def close(
    ticket_id: str, body: CloseRequest, staff: AgentDep, desk: DeskDep, request: Request
) -> dict[str, Any]:
    actor = Actor(staff, client_of(request))
    return await desk.close(ticket_id=ticket_id, actor=actor, resolution=body.resolution)


@router.get("/conversations", summary="搜索会话记录", responses=_errors)
async def search(
    staff: SearchDep, desk: DeskDep, q: Annotated[str, Query(min_length=1, max_length=100)]
) -> dict[str, Any]:
    return {"messages": await anyio.to_thread.run_sync(lambda: desk.search(text=q))}
