"""Staff accounts and roles, for admins: ``/api/v1/staff/users``."""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Request
from sqlalchemy import select

from service.db.models import StaffRole, StaffUser, iso
from service.desk_schemas import RolesUpdate, UserCreate
from service.problems import NotFound
from service.routes.refusals import refusals
from service.routes.staff_auth import AdminDep, client_of, database
from service.staff import accounts, audit

router = APIRouter(prefix="/api/v1/staff", tags=["工作人员账号"])
_errors = refusals(401, 403, 404, 409, 422)


def list_users(request: Request) -> list[dict[str, Any]]:
    with database(request).session() as session:
        users = session.scalars(select(StaffUser).order_by(StaffUser.name)).all()
        roles: dict[int, list[str]] = {}
        for user_id, role in session.execute(select(StaffRole.user_id, StaffRole.role)):
            roles.setdefault(user_id, []).append(role)
        return [
            {
                "id": u.id,
                "name": u.name,
                "roles": sorted(roles.get(u.id, [])),
                "active": u.active,
                "created_at": iso(u.created_at),
            }
            for u in users
        ]


@router.get("/users", summary="工作人员列表", responses=_errors)
async def users(staff: AdminDep, request: Request) -> dict[str, Any]:
    return {"users": await anyio.to_thread.run_sync(lambda: list_users(request))}


def create(
    request: Request, staff: accounts.Staff, name: str, password: str, roles: list[str]
) -> int:
    with database(request).session() as session:
        user = accounts.create_user(session, name=name, password=password, roles=roles)
        audit.record(
            session,
            actor_id=staff.id,
            actor_name=staff.name,
            action="user_create",
            target=f"user:{name}",
            detail={"roles": sorted(set(roles))},
            client=client_of(request),
        )
        return user.id


@router.post("/users", summary="新建工作人员", status_code=201, responses=_errors)
async def create_user(body: UserCreate, staff: AdminDep, request: Request) -> dict[str, Any]:
    user_id = await anyio.to_thread.run_sync(
        lambda: create(request, staff, body.name, body.password, body.roles)
    )
    return {"id": user_id, "name": body.name, "roles": sorted(set(body.roles))}


def change_roles(
    request: Request, staff: accounts.Staff, user_id: int, roles: list[str]
) -> list[str]:
    with database(request).session() as session:
        user = session.get(StaffUser, user_id)
        if user is None:
            raise NotFound("工作人员不存在")
        before = sorted(accounts.roles_of(session, user_id))
        after = accounts.set_roles(session, user_id=user_id, roles=roles)
        audit.record(
            session,
            actor_id=staff.id,
            actor_name=staff.name,
            action="role_change",
            target=f"user:{user.name}",
            detail={"before": before, "after": after},
            client=client_of(request),
        )
        return after


@router.put("/users/{user_id}/roles", summary="修改角色", responses=_errors)
async def roles(
    user_id: int, body: RolesUpdate, staff: AdminDep, request: Request
) -> dict[str, Any]:
    after = await anyio.to_thread.run_sync(
        lambda: change_roles(request, staff, user_id, body.roles)
    )
    return {"id": user_id, "roles": after}
