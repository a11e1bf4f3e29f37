"""The review workflow of documents on the database (service/db/models.py owns the tables).

An editor uploads a new document (a file and its metadata) or changes an existing one — a
document of the knowledge folder or of the database — with or without a new file; each save is
a new immutable version. Drafts are submitted together as ONE review (a policy and its
interpretation draft); a reviewer who authored none of them publishes them all at once, or
returns them all with a comment. Publishing raises the knowledge revision, which the serving
processes poll (service/documents/refresh.py). A status change (已废止, 已失效, replaced by
another document) is a change like any other.

Withholding (不予公开) is the one change that does not wait for review: it is restrictive, so
it is published at once, with its reason in the audit log; the caller then rebuilds the index
(service/documents/withholding.py).

``served`` is the metadata of the documents the current index serves (by id): the folder's
documents are known to the workflow only through it. Every action is audited in the caller's
transaction."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from indexer.models import Disclosure, DocumentMeta, FaqEntry
from service.db.models import DocItem, DocReview, DocVersion, FaqVersion, iso, utcnow
from service.documents.rules import (
    FIELDS,
    LABELS,
    REVIEW_STATES,
    STATES,
    DocFields,
    check_fields,
    check_id,
    check_reason,
    fields_of_meta,
    merged,
)
from service.documents.uploads import DocFile
from service.faqs import workflow as faq_workflow
from service.faqs.workflow import bump
from service.problems import Conflict, Forbidden, Invalid, NotFound
from service.staff import audit
from service.staff.accounts import Staff

OPEN = ("draft", "in_review", "returned")
# The FAQ versions that depend on a document: the served ones and every open one.
FAQ_OPEN = (*faq_workflow.OPEN, "published")
Served = Mapping[str, DocumentMeta]


class ServedIndex(dict[str, DocumentMeta]):
    """The loaded index's document metadata by id, with the FAQ pairs it serves: a database that
    holds no FAQ yet (never seeded) has them only there, and a document's dependents list them."""

    def __init__(self, metas: Mapping[str, DocumentMeta], faqs: Sequence[FaqEntry] = ()) -> None:
        super().__init__(metas)
        self.faqs = tuple(faqs)


# ---- reading ------------------------------------------------------------------------------------


def fields_of(v: DocVersion) -> DocFields:
    return DocFields(**{name: getattr(v, name) for name in FIELDS})


def version_out(v: DocVersion, *, with_text: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": v.id,
        "doc_id": v.doc_id,
        "number": v.number,
        "state": v.state,
        "state_name": STATES[v.state],
        "review_id": v.review_id,
        **fields_of(v).as_form(),
        "file_name": v.file_name,
        "file_type": v.file_type,
        "file_size": len(v.file_bytes) if v.file_bytes is not None else None,
        "sha256": v.sha256,
        "metadata_only": v.file_bytes is None,
        "note": v.note,
        "author": v.author_name,
        "created_at": iso(v.created_at),
        "based_on": v.based_on,
        "published_at": iso(v.published_at) if v.published_at else None,
    }
    if with_text:
        out["text"] = v.text
    return out


def _item(db: Session, doc_id: str) -> DocItem | None:
    return db.get(DocItem, doc_id)


def _version(db: Session, version_id: int) -> DocVersion:
    v = db.get(DocVersion, version_id)
    if v is None:
        raise NotFound(f"文档版本 {version_id} 不存在")
    return v


def published_version(db: Session, doc_id: str) -> DocVersion | None:
    item = _item(db, doc_id)
    if item is None or item.published_version_id is None:
        return None
    return db.get(DocVersion, item.published_version_id)


def open_version(db: Session, doc_id: str) -> DocVersion | None:
    return db.scalars(
        select(DocVersion)
        .where(DocVersion.doc_id == doc_id, DocVersion.state.in_(OPEN))
        .order_by(DocVersion.number.desc())
    ).first()


def current_fields(db: Session, doc_id: str, served: Served) -> DocFields | None:
    """The metadata in force: the database's published version, else the served index's."""
    published = published_version(db, doc_id)
    if published is not None:
        return fields_of(published)
    meta = served.get(doc_id)
    return fields_of_meta(meta) if meta is not None else None


def text_version(db: Session, v: DocVersion) -> DocVersion | None:
    """The version whose file a version carries: itself, or (a metadata-only change) the one it
    was based on, recursively; None: the knowledge folder's text."""
    seen: set[int] = set()
    current: DocVersion | None = v
    while current is not None and current.file_bytes is None:
        if current.based_on is None or current.id in seen:
            return None
        seen.add(current.id)
        current = db.get(DocVersion, current.based_on)
    return current


def known_ids(db: Session, served: Served) -> set[str]:
    return set(served) | set(db.scalars(select(DocItem.id)))


def dependents(db: Session, doc_id: str, served: Served) -> dict[str, Any]:
    """What rests on a document: FAQ pairs citing it (published and open drafts),
    interpretation drafts/documents of it, documents it replaces and the one replacing it."""
    faqs: dict[str, dict[str, Any]] = {}
    rows = db.scalars(
        select(FaqVersion).where(FaqVersion.state.in_(FAQ_OPEN)).order_by(FaqVersion.id)
    )
    for fv in rows:
        if any(s.get("doc_id") == doc_id for s in fv.sources):
            articles = [s.get("article") for s in fv.sources if s.get("doc_id") == doc_id]
            faqs[f"{fv.faq_id}#{fv.number}"] = {
                "faq_id": fv.faq_id,
                "version_id": fv.id,
                "state": fv.state,
                "question": fv.question,
                "articles": [a for a in articles if a],
            }
    if faq_workflow.revision(db) is None and isinstance(served, ServedIndex):
        for entry in served.faqs:  # not seeded yet: the pairs the index serves
            articles = [s.article for s in entry.sources if s.doc_id == doc_id]
            if any(s.doc_id == doc_id for s in entry.sources):
                faqs[entry.id] = {
                    "faq_id": entry.id,
                    "version_id": None,
                    "state": "published",
                    "question": entry.question,
                    "articles": [a for a in articles if a],
                }
    metas = _all_metadata(db, served)
    interpretations = [
        entry for entry in metas if entry["interprets"] == doc_id and entry["doc_id"] != doc_id
    ]
    replaces = [
        entry for entry in metas if entry["superseded_by"] == doc_id and entry["doc_id"] != doc_id
    ]
    own = current_fields(db, doc_id, served)
    replaced_by = own.superseded_by if own else None
    return {
        "faqs": list(faqs.values()),
        "interpretations": interpretations,
        "replaces": replaces,
        "replaced_by": replaced_by,
    }


def _all_metadata(db: Session, served: Served) -> list[dict[str, Any]]:
    """The metadata of every document: served, published in the database, open drafts."""
    out: list[dict[str, Any]] = []
    in_db = {
        v.doc_id for v in db.scalars(select(DocVersion).where(DocVersion.state == "published"))
    }
    for doc_id, meta in served.items():
        if doc_id not in in_db:
            out.append(_meta_entry(doc_id, fields_of_meta(meta), "published", None))
    rows = db.scalars(
        select(DocVersion)
        .where(DocVersion.state.in_(("published", *OPEN)))
        .order_by(DocVersion.doc_id, DocVersion.number)
    )
    for v in rows:
        out.append(_meta_entry(v.doc_id, fields_of(v), v.state, v.id))
    return out


def _meta_entry(doc_id: str, f: DocFields, state: str, version_id: int | None) -> dict[str, Any]:
    return {
        "doc_id": doc_id,
        "title": f.title,
        "state": state,
        "version_id": version_id,
        "status": f.status,
        "interprets": f.interprets,
        "superseded_by": f.superseded_by,
    }


def document_out(db: Session, doc_id: str, served: Served) -> dict[str, Any]:
    """A document: its metadata in force, where it comes from, and its open draft."""
    item = _item(db, doc_id)
    meta = served.get(doc_id)
    current = current_fields(db, doc_id, served)
    if current is None and item is None:
        raise NotFound(f"文档 {doc_id} 不存在（不予公开的知识库文件不在服务中，无法在此修改）")
    published = published_version(db, doc_id)
    pending = open_version(db, doc_id)
    shown = current or (fields_of(pending) if pending else None)
    latest = published or pending
    holder = text_version(db, latest) if latest is not None else None
    return {
        "id": doc_id,
        **(shown.as_form() if shown else {}),
        # Where its text comes from: an uploaded file, or the knowledge folder's.
        "text_from": "database" if holder is not None else "folder",
        "served": meta is not None,
        "published": version_out(published) if published else None,
        "pending": version_out(pending) if pending else None,
    }


def list_documents(
    db: Session, served: Served, *, text: str = "", status: str = "", state: str = ""
) -> list[dict[str, Any]]:
    ids = sorted(known_ids(db, served))
    rows = []
    for doc_id in ids:
        try:
            row = document_out(db, doc_id, served)
        except NotFound:
            continue
        if (
            text
            and text not in doc_id
            and text not in (row.get("title") or "")
            and text not in (row.get("doc_no") or "")
        ):
            continue
        if status and row.get("status") != status:
            continue
        if state and not (row["pending"] and row["pending"]["state"] == state):
            continue
        rows.append(row)
    return rows


def history(db: Session, doc_id: str, served: Served) -> dict[str, Any]:
    """A document with all its versions and its dependents."""
    out = document_out(db, doc_id, served)
    versions = db.scalars(
        select(DocVersion).where(DocVersion.doc_id == doc_id).order_by(DocVersion.number.desc())
    )
    out["versions"] = [version_out(v) for v in versions]
    out["dependents"] = dependents(db, doc_id, served)
    return out


def version(db: Session, version_id: int) -> dict[str, Any]:
    return version_out(_version(db, version_id), with_text=True)


def file_of(db: Session, version_id: int) -> tuple[str, str, bytes]:
    """(file name, type, bytes) of the file a version carries (its own or its base's)."""
    v = _version(db, version_id)
    holder = text_version(db, v)
    if holder is None or holder.file_bytes is None:
        raise NotFound(f"文档版本 {version_id} 没有上传的文件（正文来自知识库目录）")
    return (
        holder.file_name or f"{v.doc_id}{holder.file_type}",
        holder.file_type or "",
        bytes(holder.file_bytes),
    )


def diff(db: Session, v: DocVersion, served: Served) -> list[dict[str, Any]]:
    """Each field of a version beside the metadata in force (empty for a new document), and
    whether it brings a new file."""
    base = current_fields(db, v.doc_id, served)
    new, old = fields_of(v).as_form(), (base.as_form() if base else {})
    rows = [
        {
            "field": name,
            "label": LABELS[name],
            "published": old.get(name),
            "proposed": new[name],
            "changed": old.get(name) != new[name],
        }
        for name in FIELDS
    ]
    published = published_version(db, v.doc_id)
    old_file = text_version(db, published) if published else None
    new_file = text_version(db, v)
    rows.append(
        {
            "field": "file",
            "label": "文件",
            "published": old_file.file_name
            if old_file
            else ("知识库目录中的文件" if base else None),
            "proposed": new_file.file_name if new_file else "（不变）",
            "changed": (new_file.sha256 if new_file else None)
            != (old_file.sha256 if old_file else None),
        }
    )
    return rows


def _review(db: Session, review_id: int) -> DocReview:
    review = db.get(DocReview, review_id)
    if review is None:
        raise NotFound(f"审核 {review_id} 不存在")
    return review


def review_versions(db: Session, review_id: int) -> list[DocVersion]:
    return list(
        db.scalars(
            select(DocVersion).where(DocVersion.review_id == review_id).order_by(DocVersion.id)
        )
    )


def review_out(
    db: Session, review: DocReview, served: Served, *, diffs: bool = True
) -> dict[str, Any]:
    versions = review_versions(db, review.id)
    items = []
    for v in versions:
        entry: dict[str, Any] = {"version": version_out(v)}
        if diffs:
            entry["diff"] = diff(db, v, served)
            entry["dependents"] = dependents(db, v.doc_id, served)
        items.append(entry)
    return {
        "id": review.id,
        "state": review.state,
        "state_name": REVIEW_STATES[review.state],
        "author": review.author_name,
        "authors": sorted({v.author_name for v in versions}),
        "submitted_at": iso(review.submitted_at),
        "reviewer": review.reviewer_name,
        "decided_at": iso(review.decided_at) if review.decided_at else None,
        "comment": review.comment,
        "items": items,
    }


def list_reviews(db: Session, served: Served, *, state: str = "") -> list[dict[str, Any]]:
    query = select(DocReview).order_by(DocReview.id.desc()).limit(500)
    if state:
        query = query.where(DocReview.state == state)
    return [review_out(db, r, served, diffs=False) for r in db.scalars(query)]


def review(db: Session, review_id: int, served: Served) -> dict[str, Any]:
    return review_out(db, _review(db, review_id), served)


# ---- writing ------------------------------------------------------------------------------------


def _check_targets(db: Session, f: DocFields, served: Served) -> None:
    known = known_ids(db, served)
    for name in ("interprets", "superseded_by"):
        target = getattr(f, name)
        if target and target not in known:
            raise Invalid(f"{LABELS[name]} {name}：文档编号 {target} 不存在")


def _new_version(
    db: Session,
    *,
    doc_id: str,
    f: DocFields,
    file: DocFile | None,
    author: Staff,
    state: str,
    based_on: int | None,
    note: str | None = None,
) -> DocVersion:
    number = (
        db.scalar(select(func.max(DocVersion.number)).where(DocVersion.doc_id == doc_id)) or 0
    ) + 1
    v = DocVersion(
        doc_id=doc_id,
        number=number,
        state=state,
        **{name: getattr(f, name) for name in FIELDS},
        file_name=file.name if file else None,
        file_type=file.suffix if file else None,
        file_bytes=file.data if file else None,
        text=file.text if file else None,
        sha256=file.sha256 if file else None,
        note=note,
        author_id=author.id,
        author_name=author.name,
        based_on=based_on,
    )
    db.add(v)
    db.flush()
    return v


def upload_values(file: DocFile, given: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata of a new document: the form's fields over what the file says (front matter,
    the text's title, 发文字号, issuer, date). The disclosure is only ever the form's."""
    found = {k: v for k, v in file.found.items() if k in LABELS and k != "disclosure"}
    return {**found, **{k: v for k, v in given.items() if v not in (None, "")}}


def create(
    db: Session,
    *,
    doc_id: str | None,
    values: Mapping[str, Any],
    file: DocFile,
    actor: Staff,
    client: str,
    served: Served,
) -> DocVersion:
    """A new document: the first version, a draft with its file."""
    all_values = upload_values(file, values)
    raw_id = doc_id or str(all_values.get("id") or "") or file.name.rsplit(".", 1)[0]
    doc_id = check_id(raw_id)
    if doc_id in served or _item(db, doc_id) is not None:
        raise Invalid(
            f"{LABELS['id']} id：文档 {doc_id} 已存在，请换一个编号，或在该文档页面上传新版本"
        )
    f = check_fields(all_values, doc_id=doc_id)
    _check_targets(db, f, served)
    db.add(DocItem(id=doc_id))
    db.flush()
    v = _new_version(db, doc_id=doc_id, f=f, file=file, author=actor, state="draft", based_on=None)
    _audit(db, actor, "doc_draft", doc_id, client, {"version": v.number, "file": file.name})
    return v


def change(
    db: Session,
    *,
    doc_id: str,
    values: Mapping[str, Any],
    file: DocFile | None = None,
    actor: Staff,
    client: str,
    served: Served,
) -> DocVersion:
    """A new draft of an existing document (of the folder or the database): the given fields
    over the metadata in force (or the open draft's); without a file the text stays. An unsent
    draft it replaces becomes ``superseded``; one under review cannot be changed."""
    current = current_fields(db, doc_id, served)
    pending = open_version(db, doc_id)
    if current is None and pending is None:
        raise NotFound(f"文档 {doc_id} 不存在（不予公开的知识库文件不在服务中，无法在此修改）")
    if pending is not None and pending.state == "in_review":
        raise Conflict(f"文档 {doc_id} 的第 {pending.number} 版正在审核，审核结束后才能再修改")
    start = fields_of(pending) if pending is not None else current
    f = check_fields(merged(start, values), doc_id=doc_id)
    if (
        f.disclosure == Disclosure.WITHHELD.value
        and current is not None
        and current.disclosure != Disclosure.WITHHELD.value
    ):
        raise Invalid(
            "公开属性 disclosure：改为不予公开须使用“不予公开”操作"
            "（立即从索引中撤下，不等待审核，须写明原因）"
        )
    _check_targets(db, f, served)
    if _item(db, doc_id) is None:  # a folder document changed for the first time
        db.add(DocItem(id=doc_id))
        db.flush()
    published = published_version(db, doc_id)
    base = pending if pending is not None else published
    if pending is not None:
        pending.state = "superseded"
    v = _new_version(
        db,
        doc_id=doc_id,
        f=f,
        file=file,
        author=actor,
        state="draft",
        based_on=base.id if base else None,
    )
    changed = [n for n in FIELDS if current is None or getattr(current, n) != getattr(f, n)]
    detail: dict[str, Any] = {"version": v.number, "fields": changed}
    if file is not None:
        detail["file"] = file.name
    _audit(db, actor, "doc_draft", doc_id, client, detail)
    return v


def change_status(
    db: Session,
    *,
    doc_id: str,
    status: str,
    superseded_by: str | None,
    actor: Staff,
    client: str,
    served: Served,
) -> DocVersion:
    """Mark a document 已废止 / 已失效 (or replaced by another one): a draft reviewed like any
    change. The caller shows the dependents (``dependents``)."""
    values: dict[str, Any] = {"status": status}
    if superseded_by is not None:
        values["superseded_by"] = superseded_by
    return change(db, doc_id=doc_id, values=values, actor=actor, client=client, served=served)


def submit(
    db: Session, *, version_ids: list[int], actor: Staff, client: str, served: Served
) -> DocReview:
    """One review of the given drafts, published or returned together."""
    ids = list(dict.fromkeys(version_ids))
    if not ids:
        raise Invalid("版本 version_ids：至少选择一个草稿提交审核")
    versions = [_version(db, i) for i in ids]
    docs = [v.doc_id for v in versions]
    if len(set(docs)) != len(docs):
        raise Invalid("版本 version_ids：同一文档的多个版本不能在一次审核中提交")
    for v in versions:
        if v.state not in ("draft", "returned"):
            raise Conflict(
                f"文档 {v.doc_id} 第 {v.number} 版的状态是{STATES[v.state]}，不能提交审核"
            )
    review = DocReview(state="in_review", author_id=actor.id, author_name=actor.name)
    db.add(review)
    db.flush()
    for v in versions:
        v.state, v.review_id = "in_review", review.id
    _audit(
        db,
        actor,
        "doc_submit",
        ",".join(docs)[:100],
        client,
        {"review": review.id, "versions": [f"{v.doc_id}#{v.number}" for v in versions]},
    )
    return review


def _reviewable(db: Session, review_id: int, actor: Staff) -> tuple[DocReview, list[DocVersion]]:
    review = _review(db, review_id)
    if review.state != "in_review":
        raise Conflict(f"审核 {review_id} 的状态是{REVIEW_STATES[review.state]}，不在待审核状态")
    versions = review_versions(db, review_id)
    if review.author_id == actor.id or any(v.author_id == actor.id for v in versions):
        raise Forbidden("不能审核自己编写或提交的文档：须由作者以外的审核员审核")
    return review, versions


def approve(db: Session, *, review_id: int, actor: Staff, client: str, served: Served) -> DocReview:
    """Publishes every version of the review at once and raises the knowledge revision."""
    review, versions = _reviewable(db, review_id, actor)
    in_review = {v.doc_id for v in versions}
    for v in versions:
        item = _item(db, v.doc_id)
        published_id = item.published_version_id if item else None
        if published_id is not None and not _based_on_chain(db, v, published_id):
            raise Conflict(
                f"文档 {v.doc_id} 在提交后已发布了新的版本（例如被设为不予公开），"
                "请退回后按新版本重新修改"
            )
        for name in ("interprets", "superseded_by"):
            target = getattr(v, name)
            if (
                target
                and target not in in_review
                and target not in served
                and (published_version(db, target) is None)
            ):
                raise Conflict(
                    f"文档 {v.doc_id} 的{LABELS[name]} {target} 尚未发布：请把两者放在同一次审核中"
                )
    now = utcnow()
    for v in versions:
        item = _item(db, v.doc_id)
        assert item is not None
        if item.published_version_id is not None:
            old = db.get(DocVersion, item.published_version_id)
            if old is not None:
                old.state = "superseded"
        v.state, v.published_at = "published", now
        item.published_version_id = v.id
    review.state, review.reviewer_id, review.reviewer_name = "published", actor.id, actor.name
    review.decided_at = now
    number = bump(db)
    _audit(
        db,
        actor,
        "doc_publish",
        ",".join(sorted(in_review))[:100],
        client,
        {"review": review.id, "revision": number},
    )
    return review


def _based_on_chain(db: Session, v: DocVersion, published_id: int) -> bool:
    """Whether ``published_id`` is among the versions ``v`` was written from."""
    seen: set[int] = set()
    current = v.based_on
    while current is not None and current not in seen:
        if current == published_id:
            return True
        seen.add(current)
        base = db.get(DocVersion, current)
        current = base.based_on if base else None
    return False


def send_back(db: Session, *, review_id: int, actor: Staff, comment: str, client: str) -> DocReview:
    comment = check_reason(comment, "退回意见 comment")
    review, versions = _reviewable(db, review_id, actor)
    now = utcnow()
    for v in versions:
        v.state = "returned"
    review.state, review.reviewer_id, review.reviewer_name = "returned", actor.id, actor.name
    review.decided_at, review.comment = now, comment
    _audit(
        db,
        actor,
        "doc_return",
        ",".join(v.doc_id for v in versions)[:100],
        client,
        {"review": review.id, "comment": comment},
    )
    return review


def withhold(
    db: Session, *, doc_id: str, reason: str, actor: Staff, client: str, served: Served
) -> DocVersion:
    """不予公开 at once: a version with the metadata in force and disclosure 不予公开, published
    without review (a restrictive change); the reason is kept and audited. The caller rebuilds
    the index before answering (service/documents/withholding.py)."""
    reason = check_reason(reason, "不予公开的原因 reason")
    current = current_fields(db, doc_id, served)
    if current is None:
        raise NotFound(f"文档 {doc_id} 不存在或尚未发布")
    if current.disclosure == Disclosure.WITHHELD.value:
        raise Conflict(f"文档 {doc_id} 已是不予公开")
    if _item(db, doc_id) is None:
        db.add(DocItem(id=doc_id))
        db.flush()
    item = _item(db, doc_id)
    assert item is not None
    published = published_version(db, doc_id)
    f = dataclasses.replace(current, disclosure=Disclosure.WITHHELD.value)
    v = _new_version(
        db,
        doc_id=doc_id,
        f=f,
        file=None,
        author=actor,
        state="published",
        based_on=published.id if published else None,
        note=reason,
    )
    if published is not None:
        published.state = "superseded"
    v.published_at = utcnow()
    item.published_version_id = v.id
    number = bump(db)
    _audit(
        db,
        actor,
        "doc_withhold",
        doc_id,
        client,
        {"version": v.number, "reason": reason, "revision": number},
    )
    return v


def _audit(
    db: Session, actor: Staff, action: str, target: str, client: str, detail: dict[str, Any]
) -> None:
    audit.record_by(db, actor, action, f"doc:{target}", client, detail)
