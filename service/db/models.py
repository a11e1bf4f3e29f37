"""The tables (this module owns the database format; ``migrations/`` creates and changes it).

Times are naive UTC ``DateTime`` columns: SQLite keeps no time zone, so none is stored anywhere.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def iso(moment: datetime) -> str:
    """ISO-8601 with the UTC offset, as the API shows times."""
    return moment.replace(tzinfo=UTC).isoformat()


class Base(DeclarativeBase):
    pass


class Conversation(Base):
    """One citizen conversation; ``id`` is the server-issued session id (a capability)."""

    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    # A channel's own address of the conversation (WeChat: the OpenID); web: none.
    channel_key: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    # Follow-up context: dataclasses.asdict(service.sessions.Turn) and when it was stored.
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    context_at: Mapped[datetime | None] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("channel", "channel_key", name="uq_conversation_key"),)


class Message(Base):
    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    ticket_id: Mapped[str | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL"), index=True
    )
    role: Mapped[str] = mapped_column(String(16))  # citizen | bot | staff | system
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the AskResponse of a bot turn
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id", ondelete="SET NULL"))
    # Push channels: whether the platform accepted a staff message, and why not.
    delivered: Mapped[bool | None] = mapped_column(Boolean)
    delivery_note: Mapped[str | None] = mapped_column(String(500))


class AnswerRecord(Base):
    """Every answer the bot gave, for quality review and feedback."""

    __tablename__ = "answers"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # the answer_id
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float)
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    latency_ms: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class Feedback(Base):
    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    answer_id: Mapped[str] = mapped_column(ForeignKey("answers.id", ondelete="CASCADE"), index=True)
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Ticket(Base):
    """A handed-over conversation: open (queued) → claimed (an agent owns it) → closed."""

    __tablename__ = "tickets"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str] = mapped_column(String(32))  # human | complaint | request
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class StaffUser(Base):
    __tablename__ = "staff_users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class StaffRole(Base):
    __tablename__ = "staff_roles"
    user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)


class StaffSession(Base):
    """A signed-in browser: the cookie holds the token, the table its sha256."""

    __tablename__ = "staff_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64), index=True)
    client: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)


class AuditEntry(Base):
    """Append-only: the service only ever inserts rows."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(32), index=True)
    target: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    client: Mapped[str | None] = mapped_column(String(64))


class FaqItem(Base):
    """A curated FAQ pair: its stable id and which version is served (service/faqs/)."""

    __tablename__ = "faq_items"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The version /ask answers with (none before the first approval).
    published_version_id: Mapped[int | None] = mapped_column(Integer)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why it is not served although published (its source document is 已失效/已废止).
    flag: Mapped[str | None] = mapped_column(String(300))


class FaqVersion(Base):
    """One immutable version of an FAQ pair; only ``state`` and the review fields change.

    state: draft → in_review → published | returned; superseded (a later version replaced it);
    retired (the published version of a retired pair)."""

    __tablename__ = "faq_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    faq_id: Mapped[str] = mapped_column(ForeignKey("faq_items.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the pair
    question: Mapped[str] = mapped_column(Text)
    variants: Mapped[list[str]] = mapped_column(JSON)
    answer: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    # The documents and articles it rests on: [{"doc_id": …, "article": … or null}, …]
    sources: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    effective_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    author_id: Mapped[int | None] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    state: Mapped[str] = mapped_column(String(16), index=True)
    # The version this one was written from (the published one, or the one restored).
    based_on: Mapped[int | None] = mapped_column(Integer)
    # Where a draft came from: a handoff ticket (its agent's answer).
    ticket_id: Mapped[str | None] = mapped_column(String(64))
    reviewer_id: Mapped[int | None] = mapped_column(Integer)
    reviewer_name: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime)
    review_comment: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("faq_id", "number", name="uq_faq_version_number"),)


class KnowledgeRevision(Base):
    """One row: a counter raised by every change to what is served, and the database's own
    random identity (an index built from another database is rebuilt)."""

    __tablename__ = "knowledge_revision"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    instance: Mapped[str] = mapped_column(String(32))
    revision: Mapped[int] = mapped_column(Integer)
    changed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DocItem(Base):
    """A policy document managed in the database (service/documents/): its id is the document id
    (a folder document's id when staff changed one from the knowledge folder)."""

    __tablename__ = "doc_items"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The version the index is built with (none before the first approval).
    published_version_id: Mapped[int | None] = mapped_column(Integer)


class DocReview(Base):
    """One review: the versions submitted together are published or returned together
    (e.g. a policy and its interpretation draft). state: in_review → published | returned."""

    __tablename__ = "doc_reviews"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    author_id: Mapped[int | None] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(64))
    submitted_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    reviewer_id: Mapped[int | None] = mapped_column(Integer)
    reviewer_name: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    comment: Mapped[str | None] = mapped_column(Text)


class DocVersion(Base):
    """One immutable version of a document: its metadata and (optionally) its file; only
    ``state``, ``review_id`` and ``published_at`` change.

    state: draft → in_review → published | returned; superseded (a later version replaced it).
    A version without a file (``file_bytes`` NULL) changes the metadata only and keeps the text
    of the version it is based on (or the knowledge folder's). A withholding (不予公开) is
    published at once, without review; ``note`` holds its reason."""

    __tablename__ = "doc_versions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_id: Mapped[str] = mapped_column(ForeignKey("doc_items.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)  # 1, 2, … within the document
    state: Mapped[str] = mapped_column(String(16), index=True)
    review_id: Mapped[int | None] = mapped_column(
        ForeignKey("doc_reviews.id", ondelete="SET NULL"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    doc_no: Mapped[str | None] = mapped_column(String(100))  # 发文字号
    issuer: Mapped[str | None] = mapped_column(String(200))
    issued_on: Mapped[date | None] = mapped_column(Date)
    effective_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8))  # 现行有效 / 已修改 / 已失效 / 已废止
    superseded_by: Mapped[str | None] = mapped_column(String(80))
    interprets: Mapped[str | None] = mapped_column(String(80))
    disclosure: Mapped[str] = mapped_column(String(8))  # 主动公开 / 依申请公开 / 不予公开
    kind: Mapped[str] = mapped_column(String(16))  # policy / interpretation
    category: Mapped[str | None] = mapped_column(String(64))
    apply_note: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(500))
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_type: Mapped[str | None] = mapped_column(String(8))  # the extension: .docx, .pdf, …
    file_bytes: Mapped[bytes | None] = mapped_column(LargeBinary)
    text: Mapped[str | None] = mapped_column(Text)  # extracted from the file
    sha256: Mapped[str | None] = mapped_column(String(64))  # of the file
    note: Mapped[str | None] = mapped_column(Text)  # why it was withheld
    author_id: Mapped[int | None] = mapped_column(Integer)
    author_name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # The version this one was written from (the published one when it was written).
    based_on: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime | None] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("doc_id", "number", name="uq_doc_version_number"),)


Index("ix_tickets_queue", Ticket.status, Ticket.created_at)
