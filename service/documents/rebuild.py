"""The full incremental build of an index from its knowledge folder with the documents
published in the database over it (service/documents/source.py) and the FAQ of the database:
what ``policyqa index`` builds, run by a serving process when documents were published
(service/faqs/refresh.py) or withheld (service/documents/withholding.py). Every unchanged text
keeps its vector (indexer/build.py); only new text is embedded."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from indexer.build import BuildLocked, BuildReport, build_from
from indexer.encoders import Encoder
from indexer.knowledge import load_knowledge
from indexer.store import read_manifest
from service.db.engine import Database
from service.documents.source import overlay, overlay_key
from service.faqs.source import apply_database
from service.problems import Unavailable


def wanted(database: Database) -> dict[str, Any] | None:
    """The ``documents_source`` an index built now would record (None: no document published)."""
    with database.session() as db:
        return overlay_key(db)


def knowledge_root(index_dir: Path) -> Path:
    manifest = read_manifest(index_dir) or {}
    source = str(manifest.get("source") or "")
    if not source or not Path(source).is_dir():
        raise Unavailable(
            f"索引没有记录可用的知识库目录（{source or '未记录'}），无法编入数据库中的文件："
            "请用 policyqa index 重建索引"
        )
    return Path(source)


def rebuild(
    index_dir: Path, database: Database, encoder: Encoder, *, wait_seconds: float = 0
) -> BuildReport:
    """A new current version; waits up to ``wait_seconds`` for another build to finish
    (BuildLocked after that)."""
    root = knowledge_root(index_dir)
    deadline = time.monotonic() + wait_seconds
    while True:
        with database.session() as db:
            documents, key = overlay(db)
        kb = load_knowledge(root, overlay=documents)
        with database.session() as db:
            faq = apply_database(kb, db)
        try:
            return build_from(
                kb,
                index_dir,
                encoder=encoder,
                source=str(root),
                faq_source=faq.key() if faq else None,
                documents_source=key,
            )
        except BuildLocked:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.2)
