"""The handoff desk: the queue of handed-over conversations and what agents do with a ticket.

Ticket states: ``open`` (in the queue) → ``claimed`` (one agent owns it; a transfer hands it to
another agent or back to the queue) → ``closed`` (with a resolution note; no more replies). A claim
is one conditional UPDATE (``… WHERE status = 'open'``): of two agents claiming at once, exactly
one wins. Every action writes its audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.conversations import message_json
from service.db.engine import Database
from service.db.models import (
    Conversation,
    Message,
    StaffRole,
    StaffUser,
    Ticket,
    iso,
    utcnow,
)
from service.delivery import Deliverer
from service.events import Notifier
from service.pii import mask
from service.problems import Conflict, Forbidden, Invalid, NotFound
from service.staff import audit
from service.staff.accounts import Staff

MAX_REPLY = 2000


@dataclass(frozen=True)
class Actor:
    staff: Staff
    client: str | None = None


def _ticket_json(ticket: Ticket, assignee: str | None) -> dict[str, Any]:
    now = utcnow()
    end = ticket.closed_at or now
    return {
        "id": ticket.id,
        "status": ticket.status,
        "channel": ticket.channel,
        "reason": ticket.reason,
        "session_id": ticket.conversation_id,
        "assignee": assignee,
        "created_at": iso(ticket.created_at),
        "claimed_at": iso(ticket.claimed_at) if ticket.claimed_at else None,
        "closed_at": iso(ticket.closed_at) if ticket.closed_at else None,
        "waiting_seconds": int((end - ticket.created_at).total_seconds()),
        "resolution": ticket.resolution,
    }


class Desk:
    def __init__(
        self,
        *,
        database: Database,
        notifier: Notifier,
        deliverers: Mapping[str, Deliverer],
    ) -> None:
        self.database, self.notifier, self.deliverers = database, notifier, deliverers

    # ---- reading -----------------------------------------------------------------------------

    def queue(self, *, status: str | None = None, mine: int | None = None) -> list[dict[str, Any]]:
        """Open tickets oldest first (then the claimed ones); ``status``/``mine`` filter."""
        with self.database.session() as db:
            query = (
                select(Ticket, StaffUser.name)
                .outerjoin(StaffUser, StaffUser.id == Ticket.assignee_id)
                .order_by(Ticket.created_at, Ticket.id)
                .limit(500)
            )
            if status:
                query = query.where(Ticket.status == status)
            else:
                query = query.where(Ticket.status.in_(("open", "claimed")))
            if mine is not None:
                query = query.where(Ticket.assignee_id == mine)
            rows = db.execute(query).all()
            items = [_ticket_json(t, name) for t, name in rows]
        items.sort(key=lambda t: (t["status"] != "open", t["created_at"]))
        return items

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        with self.database.session() as db:
            ticket = self._get(db, ticket_id)
            assignee = db.get(StaffUser, ticket.assignee_id) if ticket.assignee_id else None
            messages = db.scalars(
                select(Message)
                .where(Message.conversation_id == ticket.conversation_id)
                .order_by(Message.id)
                .limit(1000)
            ).all()
            staff_names = {
                row.id: row.name for row in db.execute(select(StaffUser.id, StaffUser.name))
            }
            body = _ticket_json(ticket, assignee.name if assignee else None)
            body["messages"] = [
                {
                    **message_json(m),
                    "staff": staff_names.get(m.staff_id) if m.staff_id else None,
                    "delivered": m.delivered,
                    "delivery_note": m.delivery_note,
                }
                for m in messages
            ]
            return body

    def agents(self) -> list[str]:
        with self.database.session() as db:
            return list(
                db.scalars(
                    select(StaffUser.name)
                    .join(StaffRole, StaffRole.user_id == StaffUser.id)
                    .where(StaffRole.role == "agent", StaffUser.active.is_(True))
                    .order_by(StaffUser.name)
                )
            )

    def search(self, *, text: str, limit: int = 50) -> list[dict[str, Any]]:
        """Conversation history: messages containing ``text`` (newest first)."""
        needle = text.strip()
        if not needle:
            raise Invalid("请输入要搜索的内容")
        pattern = "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self.database.session() as db:
            rows = db.execute(
                select(Message, Conversation.channel)
                .join(Conversation, Conversation.id == Message.conversation_id)
                .where(Message.text.like(pattern, escape="\\"))
                .order_by(Message.id.desc())
                .limit(limit)
            ).all()
            return [
                {**message_json(m), "session_id": m.conversation_id, "channel": channel}
                for m, channel in rows
            ]

    # ---- acting --------------------------------------------------------------------------------

    async def claim(self, *, ticket_id: str, actor: Actor) -> dict[str, Any]:
        """Takes an open ticket; the citizen is told a person has joined, on their channel too."""
        pushed = await anyio.to_thread.run_sync(lambda: self._claim(ticket_id, actor))
        await self._deliver(*pushed)
        return await anyio.to_thread.run_sync(lambda: self.ticket(ticket_id))

    def _claim(self, ticket_id: str, actor: Actor) -> tuple[int, str, str, str]:
        with self.database.session() as db:
            self._get(db, ticket_id)
            won = db.execute(  # type: ignore[attr-defined]  # a CursorResult has rowcount
                update(Ticket)
                .where(Ticket.id == ticket_id, Ticket.status == "open")
                .values(status="claimed", assignee_id=actor.staff.id, claimed_at=utcnow())
            ).rowcount
            if won != 1:
                raise Conflict("该工单已被其他工作人员认领或已关闭")
            ticket = self._get(db, ticket_id)
            message = self._system(
                db, ticket, f"工作人员（工号 {actor.staff.id}）已接入，正在为您服务。"
            )
            self._audit(db, actor, "claim", ticket_id)
            pushed = self._addressed(db, ticket, message)
        self.notifier.publish(ticket.conversation_id, message.id)
        return pushed

    async def reply(self, *, ticket_id: str, actor: Actor, text: str) -> dict[str, Any]:
        text = mask(text.strip())
        if not text:
            raise Invalid("回复内容不能为空")
        if len(text) > MAX_REPLY:
            raise Invalid(f"回复过长（{len(text)} 字），请控制在 {MAX_REPLY} 字以内")
        stored = await anyio.to_thread.run_sync(lambda: self._store_reply(ticket_id, actor, text))
        message_id, conversation_id, channel, address = stored
        self.notifier.publish(conversation_id, message_id)
        delivered, note = await self._deliver(message_id, channel, address, text)
        return {"message_id": message_id, "delivered": delivered, "delivery_note": note}

    async def _deliver(
        self, message_id: int, channel: str, address: str, text: str
    ) -> tuple[bool | None, str | None]:
        """Pushes a stored message through its channel's Deliverer, if the channel has one (the
        web widget fetches instead); the outcome is stored on the message and shown on the ticket."""
        deliverer = self.deliverers.get(channel)
        if deliverer is None:
            return None, None
        try:
            result = await deliverer.deliver(session_key=address, text=text)
            delivered, note = result.delivered, result.reason
        except Exception as exc:  # a channel's failure is shown on the ticket, not raised
            delivered, note = False, f"渠道发送失败：{type(exc).__name__}"
        await anyio.to_thread.run_sync(lambda: self._delivery(message_id, delivered, note))
        return delivered, note

    def _store_reply(self, ticket_id: str, actor: Actor, text: str) -> tuple[int, str, str, str]:
        with self.database.session() as db:
            ticket = self._get(db, ticket_id, lock=True)
            if ticket.status == "closed":
                raise Conflict("工单已关闭，不能再回复")
            if ticket.status != "claimed" or ticket.assignee_id != actor.staff.id:
                raise Conflict("请先认领该工单再回复")
            conversation = db.get(Conversation, ticket.conversation_id)
            assert conversation is not None
            conversation.last_seen_at = utcnow()
            message = Message(
                conversation_id=ticket.conversation_id,
                ticket_id=ticket.id,
                role="staff",
                text=text,
                staff_id=actor.staff.id,
            )
            db.add(message)
            db.flush()
            self._audit(db, actor, "reply", ticket_id, {"message_id": message.id})
            return message.id, conversation.id, conversation.channel, self._address(conversation)

    def _delivery(self, message_id: int, delivered: bool | None, note: str | None) -> None:
        with self.database.session() as db:
            db.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(delivered=delivered, delivery_note=note[:500] if note else None)
            )

    def transfer(self, *, ticket_id: str, actor: Actor, to: str | None) -> dict[str, Any]:
        """To another agent (by user name), or back to the queue (``to`` empty)."""
        with self.database.session() as db:
            ticket = self._get(db, ticket_id, lock=True)
            self._check_owner(ticket, actor)
            if to:
                target = db.scalars(
                    select(StaffUser)
                    .join(StaffRole, StaffRole.user_id == StaffUser.id)
                    .where(StaffUser.name == to, StaffRole.role == "agent")
                ).first()
                if target is None or not target.active:
                    raise Invalid(f"找不到客服 {to}，只能转给有客服角色的工作人员")
                ticket.assignee_id, ticket.status, ticket.claimed_at = (
                    target.id,
                    "claimed",
                    utcnow(),
                )
            else:
                ticket.assignee_id, ticket.status, ticket.claimed_at = None, "open", None
            self._audit(db, actor, "transfer", ticket_id, {"to": to or None})
        return self.ticket(ticket_id)

    async def close(self, *, ticket_id: str, actor: Actor, resolution: str) -> dict[str, Any]:
        """Ends the hand-over; the citizen is told, on their channel too."""
        resolution = mask(resolution.strip())
        if not resolution:
            raise Invalid("请填写处理结果（resolution）后再关闭工单")
        if len(resolution) > MAX_REPLY:
            raise Invalid(f"处理结果过长，请控制在 {MAX_REPLY} 字以内")
        pushed = await anyio.to_thread.run_sync(lambda: self._close(ticket_id, actor, resolution))
        await self._deliver(*pushed)
        return await anyio.to_thread.run_sync(lambda: self.ticket(ticket_id))

    def _close(self, ticket_id: str, actor: Actor, resolution: str) -> tuple[int, str, str, str]:
        with self.database.session() as db:
            ticket = self._get(db, ticket_id, lock=True)
            self._check_owner(ticket, actor)
            ticket.status, ticket.closed_at, ticket.resolution = "closed", utcnow(), resolution
            message = self._system(db, ticket, "本次人工服务已结束，如有其他问题可以继续提问。")
            self._audit(db, actor, "close", ticket_id, {"resolution": resolution[:200]})
            pushed = self._addressed(db, ticket, message)
        self.notifier.publish(ticket.conversation_id, message.id)
        return pushed

    # ---- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _address(conversation: Conversation) -> str:
        return conversation.channel_key or conversation.id

    @classmethod
    def _addressed(cls, db: Session, ticket: Ticket, message: Message) -> tuple[int, str, str, str]:
        conversation = db.get(Conversation, ticket.conversation_id)
        assert conversation is not None
        return message.id, conversation.channel, cls._address(conversation), message.text

    @staticmethod
    def _get(db: Session, ticket_id: str, *, lock: bool = False) -> Ticket:
        ticket = db.get(Ticket, ticket_id, with_for_update=lock)
        if ticket is None:
            raise NotFound("工单不存在")
        return ticket

    @staticmethod
    def _check_owner(ticket: Ticket, actor: Actor) -> None:
        if ticket.status == "closed":
            raise Conflict("工单已关闭")
        if ticket.assignee_id != actor.staff.id and "admin" not in actor.staff.roles:
            raise Forbidden("只有认领该工单的工作人员（或管理员）可以转交或关闭它")

    @staticmethod
    def _system(db: Session, ticket: Ticket, text: str) -> Message:
        message = Message(
            conversation_id=ticket.conversation_id, ticket_id=ticket.id, role="system", text=text
        )
        db.add(message)
        db.flush()
        return message

    @staticmethod
    def _audit(
        db: Session,
        actor: Actor,
        action: str,
        ticket_id: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        audit.record(
            db,
            actor_id=actor.staff.id,
            actor_name=actor.staff.name,
            action=action,
            target=f"ticket:{ticket_id}",
            detail=detail,
            client=actor.client,
        )
