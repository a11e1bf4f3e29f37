"""Keeps the served index in step with the curation database, without a restart.

The reload thread of every serving process (service/lifecycle.py) calls :meth:`Refresher.check`
every ``knowledge_poll_seconds``: when the database's knowledge revision (or the date, for
effective and expiry dates) differs from what the current index version was built from, one
process — whichever takes the index folder's build lock — writes a new version with the FAQ-only
step (indexer/build.py ``build_faq_step``: documents, chunks and their vectors are taken over
from the version it serves; new questions are embedded with the encoder it already has). Every
process then loads the new version through the ordinary reload path.

When the documents published in the database differ from those the index was built with (its
manifest's ``documents_source``), the same process runs the full incremental build instead
(service/documents/rebuild.py: the knowledge folder with the database's documents over it, and
the FAQ; only new text is embedded).
"""

from __future__ import annotations

import logging
from pathlib import Path

from indexer.build import BuildLocked, build_faq_step
from indexer.store import current_version, read_manifest
from service.answering import Answerer
from service.db.engine import Database
from service.documents import rebuild
from service.faqs.source import servable, wanted

log = logging.getLogger("policyqa.faqs")


class Refresher:
    def __init__(self, index_dir: Path, database: Database) -> None:
        self.index_dir, self.database = index_dir, database
        self.problem: str | None = None  # the last failure, for /readyz

    def check(self, answerer: Answerer) -> bool:
        """Builds a new version when one is due; True when this call built it."""
        manifest = read_manifest(self.index_dir) or {}
        documents = rebuild.wanted(self.database)
        if documents != manifest.get("documents_source"):
            return self._full_build(answerer)
        want = wanted(self.database)
        if want is None:
            return False  # the database holds no FAQ yet: the index's own FAQ are served
        if manifest.get("faq_source") == want:
            return False  # built already (by this or another process): the reload loads it
        base = answerer.index
        if current_version(self.index_dir) != base.version:
            return False  # a newer version is on disk: load it first, then compare
        metas = {doc_id: record.meta for doc_id, record in base.documents.items()}
        with self.database.session() as db:
            faqs, source, _problems = servable(db, metas)
        try:
            report = build_faq_step(
                base,
                self.index_dir,
                faqs=faqs,
                encoder=answerer.encoder,
                faq_source=source.key() if source else None,
            )
        except BuildLocked:
            return False  # another process is building it
        self.problem = None
        if report is None:
            return False
        log.info(
            "index version %s written for knowledge revision %s in %.1f s (%d embedded)",
            report.version,
            want["revision"],
            report.seconds,
            report.embedded,
        )
        return True

    def _full_build(self, answerer: Answerer) -> bool:
        if current_version(self.index_dir) != answerer.index.version:
            return False  # a newer version is on disk: load it first, then compare
        try:
            report = rebuild.rebuild(self.index_dir, self.database, answerer.encoder)
        except BuildLocked:
            return False  # another process is building it
        self.problem = None
        log.info(
            "index version %s written for the published documents in %.1f s (%d embedded)",
            report.version,
            report.seconds,
            report.embedded,
        )
        return True
