"""The review workflow of FAQ pairs on the database (service/db/models.py owns the tables).

An editor writes a draft (each save is a new immutable version), submits it for review; a
reviewer who is not its author publishes it or returns it with a comment. Publishing and retiring
raise the knowledge revision, which the serving processes poll (service/faqs/refresh.py).
Every action is audited in the caller's transaction."""

from __future__ import annotations

import secrets
from datetime import date
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.db.models import FaqItem, FaqVersion, KnowledgeRevision, iso, utcnow
from service.faqs.rules import STATES, FaqDraft, check_id, clean
from service.problems import Conflict, Forbidden, Invalid, NotFound
from service.staff import audit
from service.staff.accounts import Staff

# A retirement is a change like any other: requested, then approved by another reviewer.
IN_REVIEW = ("in_review", "retire_review")
OPEN = ("draft", "returned", *IN_REVIEW)
FIELDS = (
    "question",
    "variants",
    "answer",
    "category",
    "sources",
    "effective_on",
    "expires_on",
)
FIELD_NAMES = {
    "question": "标准问题",
    "variants": "相似问法",
    "answer": "答案",
    "category": "分类",
    "sources": "来源文件与条款",
    "effective_on": "生效日期",
    "expires_on": "失效日期",
}


# ---- the knowledge revision ---------------------------------------------------------------------


def revision(db: Session) -> tuple[str, int] | None:
    """(database identity, revision), or None before any FAQ was stored in this database."""
    row = db.get(KnowledgeRevision, 1)
    return (row.instance, row.revision) if row else None


def bump(db: Session) -> int:
    if db.get(KnowledgeRevision, 1) is None:
        db.add(KnowledgeRevision(id=1, instance=secrets.token_hex(8), revision=1))
        db.flush()
        return 1
    db.execute(
        update(KnowledgeRevision)
        .where(KnowledgeRevision.id == 1)
        .values(revision=KnowledgeRevision.revision + 1, changed_at=utcnow())
    )
    return int(db.scalar(select(KnowledgeRevision.revision).where(KnowledgeRevision.id == 1)) or 0)


# ---- reading ------------------------------------------------------------------------------------


def version_out(v: FaqVersion) -> dict[str, Any]:
    return {
        "id": v.id,
        "faq_id": v.faq_id,
        "number": v.number,
        "state": v.state,
        "state_name": STATES[v.state],
        "question": v.question,
        "variants": list(v.variants),
        "answer": v.answer,
        "category": v.category,
        "sources": [dict(s) for s in v.sources],
        "effective_on": v.effective_on.isoformat() if v.effective_on else None,
        "expires_on": v.expires_on.isoformat() if v.expires_on else None,
        "author": v.author_name,
        "created_at": iso(v.created_at),
        "based_on": v.based_on,
        "ticket_id": v.ticket_id,
        "reviewer": v.reviewer_name,
        "reviewed_at": iso(v.reviewed_at) if v.reviewed_at else None,
        "review_comment": v.review_comment,
        "published_at": iso(v.published_at) if v.published_at else None,
    }


def _item(db: Session, faq_id: str) -> FaqItem:
    item = db.get(FaqItem, faq_id)
    if item is None:
        raise NotFound(f"问答 {faq_id} 不存在")
    return item


def _version(db: Session, version_id: int) -> FaqVersion:
    version = db.get(FaqVersion, version_id)
    if version is None:
        raise NotFound(f"问答版本 {version_id} 不存在")
    return version


def open_version(db: Session, faq_id: str) -> FaqVersion | None:
    return db.scalars(
        select(FaqVersion).where(FaqVersion.faq_id == faq_id, FaqVersion.state.in_(OPEN))
    ).first()


def item_out(db: Session, item: FaqItem) -> dict[str, Any]:
    published = db.get(FaqVersion, item.published_version_id) if item.published_version_id else None
    pending = open_version(db, item.id)
    shown = pending or published
    return {
        "id": item.id,
        "question": shown.question if shown else "",
        "category": shown.category if shown else "",
        "retired": item.retired,
        "flag": item.flag,
        "served": bool(published and not item.retired and not item.flag),
        "published": version_out(published) if published else None,
        "pending": version_out(pending) if pending else None,
    }


def list_items(
    db: Session, *, text: str = "", state: str = "", category: str = "", limit: int = 500
) -> list[dict[str, Any]]:
    query = select(FaqItem).order_by(FaqItem.id).limit(limit)
    if text:
        pattern = f"%{text}%"
        matching = select(FaqVersion.faq_id).where(
            FaqVersion.question.like(pattern) | FaqVersion.answer.like(pattern)
        )
        query = query.where(FaqItem.id.like(pattern) | FaqItem.id.in_(matching))
    if state in OPEN:
        query = query.where(
            FaqItem.id.in_(select(FaqVersion.faq_id).where(FaqVersion.state == state))
        )
    elif state == "flagged":
        query = query.where(FaqItem.flag.is_not(None))
    elif state == "retired":
        query = query.where(FaqItem.retired.is_(True))
    rows = [item_out(db, item) for item in db.scalars(query)]
    if category:
        rows = [r for r in rows if r["category"] == category]
    return rows


def history(db: Session, faq_id: str) -> dict[str, Any]:
    item = _item(db, faq_id)
    versions = db.scalars(
        select(FaqVersion).where(FaqVersion.faq_id == faq_id).order_by(FaqVersion.number.desc())
    )
    return {**item_out(db, item), "versions": [version_out(v) for v in versions]}


def version(db: Session, version_id: int) -> dict[str, Any]:
    return version_out(_version(db, version_id))


def diff(db: Session, version_id: int) -> list[dict[str, Any]]:
    """Each field of the version beside the published version's (empty before publication)."""
    v = _version(db, version_id)
    item = _item(db, v.faq_id)
    base = db.get(FaqVersion, item.published_version_id) if item.published_version_id else None
    new, old = version_out(v), version_out(base) if base else {}
    return [
        {
            "field": name,
            "label": FIELD_NAMES[name],
            "published": old.get(name),
            "proposed": new[name],
            "changed": old.get(name) != new[name],
        }
        for name in FIELDS
    ]


# ---- writing ------------------------------------------------------------------------------------


def _new_version(
    db: Session, *, faq_id: str, draft: FaqDraft, author: Staff, state: str, based_on: int | None
) -> FaqVersion:
    number = (
        db.scalar(select(func.max(FaqVersion.number)).where(FaqVersion.faq_id == faq_id)) or 0
    ) + 1
    v = FaqVersion(
        faq_id=faq_id,
        number=number,
        question=draft.question,
        variants=list(draft.variants),
        answer=draft.answer,
        category=draft.category,
        sources=[{"doc_id": d, "article": a} for d, a in draft.sources],
        effective_on=draft.effective_on,
        expires_on=draft.expires_on,
        author_id=author.id,
        author_name=author.name,
        state=state,
        based_on=based_on,
        ticket_id=draft.ticket_id,
    )
    db.add(v)
    db.flush()
    return v


def create(db: Session, *, faq_id: str, draft: FaqDraft, actor: Staff, client: str) -> FaqVersion:
    faq_id = check_id(faq_id)
    draft = clean(draft)
    if db.get(FaqItem, faq_id) is not None:
        raise Invalid(f"编号 id：问答 {faq_id} 已存在，请换一个编号或修改原问答")
    db.add(FaqItem(id=faq_id, retired=False))
    db.flush()
    v = _new_version(db, faq_id=faq_id, draft=draft, author=actor, state="draft", based_on=None)
    _audit(db, actor, "faq_draft", faq_id, client, {"version": v.number, "ticket": draft.ticket_id})
    return v


def save(db: Session, *, faq_id: str, draft: FaqDraft, actor: Staff, client: str) -> FaqVersion:
    """A changed draft of an existing pair: a new version; an unsent draft it replaces is kept
    as ``superseded``. A version under review cannot be changed underneath its reviewer."""
    item = _item(db, faq_id)
    draft = clean(draft)
    pending = open_version(db, faq_id)
    if pending is not None and pending.state in IN_REVIEW:
        raise Conflict(f"问答 {faq_id} 的第 {pending.number} 版正在审核，审核结束后才能再修改")
    if pending is not None:
        pending.state = "superseded"
    v = _new_version(
        db,
        faq_id=faq_id,
        draft=draft,
        author=actor,
        state="draft",
        based_on=item.published_version_id,
    )
    _audit(db, actor, "faq_draft", faq_id, client, {"version": v.number})
    return v


def submit(db: Session, *, version_id: int, actor: Staff, client: str) -> FaqVersion:
    v = _version(db, version_id)
    if v.state not in ("draft", "returned"):
        raise Conflict(f"第 {v.number} 版的状态是{STATES[v.state]}，不能提交审核")
    v.state = "in_review"
    _audit(db, actor, "faq_submit", v.faq_id, client, {"version": v.number})
    return v


def _reviewable(db: Session, version_id: int, actor: Staff) -> FaqVersion:
    v = _version(db, version_id)
    if v.state not in IN_REVIEW:
        raise Conflict(f"第 {v.number} 版的状态是{STATES[v.state]}，不在待审核状态")
    if v.author_id == actor.id:
        raise Forbidden("不能审核自己编写的问答：须由作者以外的审核员审核")
    return v


def approve(db: Session, *, version_id: int, actor: Staff, client: str) -> FaqVersion:
    v = _reviewable(db, version_id, actor)
    item = _item(db, v.faq_id)
    if v.state == "retire_review":
        return _retire(db, v, item, actor, client)
    if item.published_version_id is not None:
        old = db.get(FaqVersion, item.published_version_id)
        if old is not None:
            old.state = "superseded"
    now = utcnow()
    v.state, v.reviewer_id, v.reviewer_name = "published", actor.id, actor.name
    v.reviewed_at = v.published_at = now
    item.published_version_id, item.retired, item.flag = v.id, False, None
    number = bump(db)
    _audit(db, actor, "faq_publish", v.faq_id, client, {"version": v.number, "revision": number})
    return v


def send_back(
    db: Session, *, version_id: int, actor: Staff, comment: str, client: str
) -> FaqVersion:
    comment = comment.strip()
    if not comment:
        raise Invalid("退回意见 comment：退回时须写明原因")
    v = _reviewable(db, version_id, actor)
    refused = "retire_refused" if v.state == "retire_review" else "returned"
    v.state, v.reviewer_id, v.reviewer_name = refused, actor.id, actor.name
    v.reviewed_at, v.review_comment = utcnow(), comment[:2000]
    _audit(db, actor, "faq_return", v.faq_id, client, {"version": v.number, "comment": comment})
    return v


def draft_of(v: FaqVersion) -> FaqDraft:
    return FaqDraft(
        question=v.question,
        answer=v.answer,
        category=v.category,
        variants=tuple(v.variants),
        sources=tuple((s["doc_id"], s.get("article")) for s in v.sources),
        effective_on=v.effective_on,
        expires_on=v.expires_on,
    )


def restore(db: Session, *, version_id: int, actor: Staff, client: str) -> FaqVersion:
    """A version that was once published becomes the content of a new draft (reviewed again)."""
    old = _version(db, version_id)
    if old.published_at is None:
        raise Conflict(f"第 {old.number} 版从未发布，只能恢复曾经发布的版本")
    v = save(db, faq_id=old.faq_id, draft=draft_of(old), actor=actor, client=client)
    v.based_on = old.id
    _audit(db, actor, "faq_restore", old.faq_id, client, {"from": old.number, "to": v.number})
    return v


def request_retirement(db: Session, *, faq_id: str, actor: Staff, client: str) -> FaqVersion:
    """A request to stop serving a published pair: a version with the published content in
    state ``retire_review``; the pair is served until a reviewer other than the requester
    approves it (``approve``), and stays served when it is sent back."""
    item = _item(db, faq_id)
    if item.retired:
        raise Conflict(f"问答 {faq_id} 已下线")
    published = db.get(FaqVersion, item.published_version_id) if item.published_version_id else None
    if published is None:
        raise Conflict(f"问答 {faq_id} 尚未发布，无需下线")
    pending = open_version(db, faq_id)
    if pending is not None and pending.state in IN_REVIEW:
        raise Conflict(f"问答 {faq_id} 的第 {pending.number} 版正在审核，审核结束后才能申请下线")
    if pending is not None:  # an unsent draft is set aside, as a newer draft would
        pending.state = "superseded"
    v = _new_version(
        db,
        faq_id=faq_id,
        draft=draft_of(published),
        author=actor,
        state="retire_review",
        based_on=published.id,
    )
    _audit(db, actor, "faq_retire_request", faq_id, client, {"version": v.number})
    return v


def _retire(db: Session, v: FaqVersion, item: FaqItem, actor: Staff, client: str) -> FaqVersion:
    item.retired = True
    if item.published_version_id is not None:
        published = db.get(FaqVersion, item.published_version_id)
        if published is not None:
            published.state = "retired"
    v.state, v.reviewer_id, v.reviewer_name = "retired", actor.id, actor.name
    v.reviewed_at = utcnow()
    number = bump(db)
    _audit(db, actor, "faq_retire", item.id, client, {"version": v.number, "revision": number})
    return v


def _audit(
    db: Session, actor: Staff, action: str, faq_id: str, client: str, detail: dict[str, Any]
) -> None:
    audit.record_by(db, actor, action, f"faq:{faq_id}", client, detail)


def parse_date(value: str | None, field: str, label: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise Invalid(f"{label} {field}：“{value}”不是日期（应为 YYYY-MM-DD）") from None
