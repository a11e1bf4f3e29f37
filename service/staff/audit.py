"""The append-only audit log of staff actions (the database refuses UPDATE and DELETE on it)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import AuditEntry, iso

if TYPE_CHECKING:
    from service.staff.accounts import Staff

ACTIONS = (
    "login",
    "login_failed",
    "logout",
    "claim",
    "reply",
    "transfer",
    "close",
    "user_create",
    "role_change",
    "token_create",
    "faq_draft",
    "faq_submit",
    "faq_publish",
    "faq_return",
    "faq_restore",
    "faq_retire",
    "doc_draft",
    "doc_submit",
    "doc_publish",
    "doc_return",
    "doc_withhold",
)


def record(
    db: Session,
    *,
    actor_id: int | None,
    actor_name: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
    client: str | None = None,
) -> None:
    """Added to the caller's transaction: the action and its entry are stored together."""
    db.add(
        AuditEntry(
            actor_id=actor_id,
            actor_name=actor_name[:64],
            action=action,
            target=target,
            detail=detail,
            client=(client or "")[:64] or None,
        )
    )


def record_by(
    db: Session, actor: Staff, action: str, target: str, client: str, detail: dict[str, Any]
) -> None:
    """A staff member's change to a curated thing (``target`` like ``faq:<id>``); the detail's
    empty values are left out."""
    record(
        db,
        actor_id=actor.id,
        actor_name=actor.name,
        action=action,
        target=target,
        detail={k: v for k, v in detail.items() if v is not None},
        client=client,
    )


def entries(
    db: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    target: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEntry.action == action)
    if actor:
        query = query.where(AuditEntry.actor_name == actor)
    if target:
        query = query.where(AuditEntry.target == target)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    return [
        {
            "id": e.id,
            "at": iso(e.at),
            "actor": e.actor_name,
            "action": e.action,
            "target": e.target,
            "detail": e.detail,
            "client": e.client,
        }
        for e in db.scalars(query)
    ]
