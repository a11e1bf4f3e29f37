"""不予公开 at once: the change is stored (published without review, audited with the reason),
then the index is rebuilt in the request, this process serves the new version, and every other
version folder still holding the document (the fall-back versions) is deleted. The other
workers load the new version within ``knowledge_poll_seconds`` / ``reload_seconds``."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from indexer.build import BuildLocked
from indexer.models import FaqEntry
from indexer.store import current_version, remove_versions_holding
from service.db.engine import Database
from service.documents import workflow
from service.documents.rebuild import rebuild
from service.faqs.source import seed_if_empty
from service.lifecycle import Engine
from service.problems import Unavailable
from service.staff.accounts import Staff

log = logging.getLogger("policyqa.documents")
WAIT_FOR_OTHER_BUILD_SECONDS = 120


@dataclass
class Withheld:
    version: dict[str, object]
    index_version: str
    removed_versions: list[str] = field(default_factory=list)


def withhold_now(
    *,
    engine: Engine,
    database: Database,
    index_dir: Path,
    doc_id: str,
    reason: str,
    actor: Staff,
    client: str,
) -> Withheld:
    answerer = engine.answerer
    if answerer is None:
        raise Unavailable("索引尚未加载，暂时无法撤下文件，请稍后重试")
    served = answerer.metas
    faqs: list[FaqEntry] = list(answerer.index.faqs.values())
    with database.session() as db:
        seed_if_empty(db, faqs)  # the served FAQ stay served when this is the first change
        version = workflow.version_out(
            workflow.withhold(
                db, doc_id=doc_id, reason=reason, actor=actor, client=client, served=served
            )
        )
    try:
        report = rebuild(
            index_dir, database, answerer.encoder, wait_seconds=WAIT_FOR_OTHER_BUILD_SECONDS
        )
    except BuildLocked:
        raise Unavailable(
            f"已登记文件 {doc_id} 为不予公开，但另一个索引构建长时间未结束，索引尚未重建；"
            "服务会自动重试，请稍后确认"
        ) from None
    name = report.version or current_version(index_dir) or ""
    if not engine.serve_version(name):
        log.error("withheld %s: index version %s written but not loaded here", doc_id, name)
    removed = remove_versions_holding(index_dir, doc_id)
    log.info("withheld %s: index version %s, %d older versions deleted", doc_id, name, len(removed))
    return Withheld(version=version, index_version=name, removed_versions=removed)
