"""The documents published in the database as the indexer's ``Document``s: the overlay that
``load_knowledge(root, overlay=…)`` applies over the knowledge folder (indexer/knowledge.py),
and the key an index records as ``documents_source`` in its manifest (what it was built from).

A document's path is ``数据库:<id>`` (reports name it so); its ``content_hash`` is the sha256 of
its metadata and of its file; a metadata-only version has an empty text (the folder's text, or
the file of the version it was based on, is kept)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from indexer.models import Disclosure, Document, DocumentMeta, Kind, Status
from service.db.models import DocItem, DocVersion
from service.documents.rules import FIELDS
from service.documents.workflow import fields_of, text_version
from service.faqs.workflow import revision

DB_PATH = "数据库"


def meta_of(v: DocVersion) -> DocumentMeta:
    f = fields_of(v)
    return DocumentMeta(
        id=v.doc_id,
        title=f.title,
        disclosure=Disclosure(f.disclosure),
        kind=Kind(f.kind),
        doc_no=f.doc_no,
        issuer=f.issuer,
        issued_on=f.issued_on.isoformat() if f.issued_on else None,
        effective_on=f.effective_on.isoformat() if f.effective_on else None,
        status=Status(f.status),
        superseded_by=f.superseded_by,
        category=f.category,
        url=f.url,
        interprets=f.interprets,
        apply_note=f.apply_note,
        disclosure_source="metadata",
    )


def _published(db: Session) -> list[tuple[str, int]]:
    rows = db.execute(
        select(DocItem.id, DocItem.published_version_id)
        .where(DocItem.published_version_id.is_not(None))
        .order_by(DocItem.id)
    )
    return [(doc_id, version_id) for doc_id, version_id in rows if version_id is not None]


def overlay_key(db: Session) -> dict[str, Any] | None:
    """What an index built now from this database's documents records (cheap: versions are
    immutable, so their ids say what they are). None: no document is published here."""
    published = _published(db)
    if not published:
        return None
    current = revision(db)
    digest = hashlib.sha256(json.dumps(published).encode()).hexdigest()
    return {"database": current[0] if current else "", "digest": digest}


def document_of(db: Session, v: DocVersion) -> Document:
    holder = text_version(db, v)
    text = (holder.text or "") if holder is not None else ""
    fields = {name: getattr(v, name) for name in FIELDS}
    described = json.dumps(fields, default=str, ensure_ascii=False, sort_keys=True)
    digest = hashlib.sha256(described.encode())
    digest.update((holder.sha256 or "").encode() if holder is not None else b"")
    return Document(
        meta=meta_of(v), text=text, path=f"{DB_PATH}:{v.doc_id}", content_hash=digest.hexdigest()
    )


def overlay(db: Session) -> tuple[list[Document], dict[str, Any] | None]:
    """The published documents (withheld ones included: the indexer sets them aside) and the
    key of what they are."""
    docs = []
    for _doc_id, version_id in _published(db):
        v = db.get(DocVersion, version_id)
        if v is not None:
            docs.append(document_of(db, v))
    return docs, overlay_key(db)
