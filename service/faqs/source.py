"""The database as the source of the served FAQ pairs.

The knowledge folder stays the import format and the demo's seed: the first build that meets
an empty database imports the folder's FAQ files as published versions (author 知识库导入);
from then on the published, current versions in the database are the FAQ of every index, and
the folder's FAQ files are not read again (``policyqa faq import`` adds them explicitly).

A pair resting on a document that is 已失效/已废止 (or outside its effective dates) is flagged
for review and left out of the index: the citizen gets the passage answer with its validity note.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.models import (
    Disclosure,
    DocumentMeta,
    FaqEntry,
    KnowledgeBase,
    LoadProblem,
    SourceRef,
)
from service.db.engine import Database
from service.db.models import FaqItem, FaqVersion, utcnow
from service.faqs.rules import CATEGORIES
from service.faqs.workflow import bump, revision

log = logging.getLogger("policyqa.faqs")
IMPORT_AUTHOR = "知识库导入"
DB_PATH = "数据库"
OUTDATED = ("已失效", "已废止")


@dataclass
class FaqSource:
    """What an index's FAQ were built from: recorded in the manifest as ``faq_source``."""

    database: str
    revision: int
    day: str
    flagged: list[str] = field(default_factory=list)

    def key(self) -> dict[str, Any]:
        return {"database": self.database, "revision": self.revision, "date": self.day}


def import_entries(db: Session, entries: list[FaqEntry]) -> list[str]:
    """Stores each entry whose id is new as a published version; returns the ids stored."""
    stored: list[str] = []
    now = utcnow()
    for entry in entries:
        if db.get(FaqItem, entry.id) is not None:
            continue
        item = FaqItem(id=entry.id, retired=False)
        db.add(item)
        db.flush()
        version = FaqVersion(
            faq_id=entry.id,
            number=1,
            question=entry.question,
            variants=list(entry.variants),
            answer=entry.answer,
            category=entry.category if entry.category in CATEGORIES else "其他",
            sources=[{"doc_id": s.doc_id, "article": s.article} for s in entry.sources],
            effective_on=_day(entry.effective_from),
            expires_on=_day(entry.expires_on),
            author_id=None,
            author_name=IMPORT_AUTHOR,
            state="published",
            reviewer_name=IMPORT_AUTHOR,
            reviewed_at=now,
            published_at=now,
        )
        db.add(version)
        db.flush()
        item.published_version_id = version.id
        stored.append(entry.id)
    if stored:
        bump(db)
    return stored


def seed_if_empty(db: Session, entries: list[FaqEntry]) -> None:
    """Before the first publication in a database that was never seeded: the FAQ being served
    (the index's) become its published pairs, so that publishing one pair does not drop the rest."""
    if revision(db) is None and entries:
        stored = import_entries(db, entries)
        log.info("seeded the database with the served index's %d FAQ pairs", len(stored))


def published(db: Session) -> list[tuple[FaqItem, FaqVersion]]:
    rows = db.execute(
        select(FaqItem, FaqVersion)
        .join(FaqVersion, FaqVersion.id == FaqItem.published_version_id)
        .where(FaqItem.retired.is_(False))
        .order_by(FaqItem.id)
    )
    return [(item, version) for item, version in rows]


def entry_of(version: FaqVersion) -> FaqEntry:
    return FaqEntry(
        id=version.faq_id,
        question=version.question,
        answer=version.answer,
        variants=tuple(version.variants),
        category=version.category,
        sources=tuple(SourceRef(s["doc_id"], s.get("article")) for s in version.sources),
        reviewed=True,
        path=f"{DB_PATH}:{version.faq_id}#{version.number}",
        effective_from=version.effective_on.isoformat() if version.effective_on else None,
        expires_on=version.expires_on.isoformat() if version.expires_on else None,
    )


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _why_not_served(version: FaqVersion, metas: dict[str, DocumentMeta], today: date) -> str | None:
    for s in version.sources:
        meta = metas.get(s["doc_id"])
        if meta is None or meta.disclosure != Disclosure.PUBLIC:
            return f"依据文件 {s['doc_id']} 不在知识库中或不是主动公开文件，需复核"
        if str(meta.status) in OUTDATED:
            return f"依据文件《{meta.title}》{meta.status}，已停止提供，需复核"
    if version.expires_on and today >= version.expires_on:
        return f"已于 {version.expires_on.isoformat()} 到期，已停止提供，需复核"
    return None


def servable(
    db: Session, metas: dict[str, DocumentMeta], *, today: date | None = None
) -> tuple[list[FaqEntry], FaqSource | None, list[LoadProblem]]:
    """The published pairs to serve, what they were taken from, and why others are not served;
    the review flags of the pairs are updated on the way."""
    today = today or date.today()
    current = revision(db)
    if current is None:
        return [], None, []
    served: list[FaqEntry] = []
    flagged: list[str] = []
    problems: list[LoadProblem] = []
    for item, version in published(db):
        why = _why_not_served(version, metas, today)
        if item.flag != why:
            item.flag = why
        if why:
            flagged.append(item.id)
            problems.append(LoadProblem(f"{DB_PATH}:{item.id}", why, fatal=False))
        elif not (version.effective_on and today < version.effective_on):
            served.append(entry_of(version))
    return served, FaqSource(current[0], current[1], today.isoformat(), flagged), problems


def apply_database(
    kb: KnowledgeBase, db: Session, *, today: date | None = None
) -> FaqSource | None:
    """Replaces ``kb.faqs`` with the servable published pairs of the database (seeding it from
    ``kb.faqs`` when it holds none). None: the database holds no FAQ and the folder has none."""
    if revision(db) is None:
        if not kb.faqs:
            return None
        stored = import_entries(db, kb.faqs)
        log.info("seeded the database with %d FAQ pairs from the knowledge folder", len(stored))
    metas = {d.meta.id: d.meta for d in kb.documents}
    kb.faqs, source, problems = servable(db, metas, today=today)
    kb.problems.extend(problems)
    return source


def wanted(database: Database, *, today: date | None = None) -> dict[str, Any] | None:
    """The ``faq_source`` an index built now would record; None before any FAQ was stored."""
    with database.session() as db:
        current = revision(db)
    if current is None:
        return None
    day = (today or date.today()).isoformat()
    return {"database": current[0], "revision": current[1], "date": day}


def entries_for_export(db: Session) -> list[FaqEntry]:
    """Every published pair, retired ones excepted, as the knowledge format's entries."""
    return [replace(entry_of(v), path="") for _item, v in published(db)]
