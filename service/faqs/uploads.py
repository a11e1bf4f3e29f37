"""Bulk import of FAQ files (.xlsx, .csv, .yaml) uploaded by an editor, and export of the
database in the knowledge format. Reading and writing the files is indexer/faq_files.py's job;
here every good row becomes a draft (reviewed like any other) after the same checks as the form.

All or nothing: when any row is bad nothing is stored, unless the editor chose to import the
good rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from indexer.faq_files import FaqFileError, dump_faq, parse_faq_upload
from indexer.models import FaqEntry
from service.answering import Answerer
from service.db.models import FaqItem
from service.faqs import quality, workflow
from service.faqs.rules import CATEGORIES, FaqDraft, check_id, clean
from service.faqs.source import entries_for_export
from service.problems import Conflict, Invalid, Problem, Unavailable
from service.staff.accounts import Staff

EXPORT_FORMATS = {"yaml": "faq.yaml", "csv": "faq.csv", "xlsx": "faq.xlsx"}


@dataclass
class ImportResult:
    stored: list[str] = field(default_factory=list)  # ids of the new drafts
    errors: list[dict[str, Any]] = field(default_factory=list)  # {row, column, reason, id}
    warnings: list[str] = field(default_factory=list)


class ImportRefused(Invalid):
    """Some rows are bad and the editor did not choose to import the good ones."""

    def __init__(self, result: ImportResult) -> None:
        first = result.errors[0]
        super().__init__(
            f"文件有 {len(result.errors)} 处错误，未导入任何内容（例如第 {first['row']} 行"
            f"「{first['column']}」：{first['reason']}）；改正后重新上传，或选择只导入无误的行"
        )
        self.result = result


def _day(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def draft_of(entry: FaqEntry) -> FaqDraft:
    return FaqDraft(
        question=entry.question,
        answer=entry.answer,
        category=entry.category or "",
        variants=entry.variants,
        sources=tuple((s.doc_id, s.article) for s in entry.sources),
        effective_on=_day(entry.effective_from),
        expires_on=_day(entry.expires_on),
    )


def _error(row: int, column: str, reason: str, entry_id: str | None) -> dict[str, Any]:
    return {"row": row, "column": column, "reason": reason, "id": entry_id}


_COLUMN_OF = {"编号 id": "id", "来源 sources": "source_doc_id", "答案 answer": "answer"}


def import_upload(
    db: Session,
    *,
    data: bytes,
    filename: str,
    good_rows: bool,
    answerer: Answerer | None,
    actor: Staff,
    client: str,
    max_bytes: int,
) -> ImportResult:
    """Parses, checks every row, then stores the good rows as drafts in the caller's
    transaction, or raises ImportRefused (nothing stored)."""
    try:
        upload = parse_faq_upload(data, filename, CATEGORIES, max_bytes=max_bytes)
    except FaqFileError as exc:
        raise Invalid(f"文件 file：{exc}") from None
    result = ImportResult(warnings=list(upload.warnings))
    result.errors = [_error(e.row, e.column, e.reason, e.entry_id) for e in upload.errors]
    good: list[tuple[int, str, FaqDraft]] = []
    for row in upload.entries:
        entry = row.entry
        try:
            faq_id = check_id(entry.id)
            draft = clean(draft_of(entry))
            quality.check_sources(answerer, draft)
            item = db.get(FaqItem, faq_id)
            pending = workflow.open_version(db, faq_id) if item else None
            if pending is not None and pending.state == "in_review":
                raise Conflict(f"问答 {faq_id} 有正在审核的版本，不能覆盖")
        except Unavailable:
            raise  # the index is not loaded: no row can be checked
        except Problem as exc:
            field_name, _, reason = exc.message.partition("：")
            column = _COLUMN_OF.get(field_name, field_name.split(" ")[-1] if reason else "")
            result.errors.append(_error(row.row, column, reason or exc.message, entry.id))
            continue
        good.append((row.row, faq_id, draft))
    result.errors.sort(key=lambda e: e["row"])
    if result.errors and not good_rows:
        raise ImportRefused(result)
    for _row, faq_id, draft in good:
        if db.get(FaqItem, faq_id) is None:
            workflow.create(db, faq_id=faq_id, draft=draft, actor=actor, client=client)
        else:
            workflow.save(db, faq_id=faq_id, draft=draft, actor=actor, client=client)
        result.stored.append(faq_id)
    return result


def export(db: Session, fmt: str) -> tuple[str, bytes]:
    """The published pairs (retired ones excepted) as a knowledge-folder FAQ file."""
    if fmt not in EXPORT_FORMATS:
        raise Invalid(f"格式 format：应为 {'、'.join(EXPORT_FORMATS)} 之一")
    filename = EXPORT_FORMATS[fmt]
    return filename, dump_faq(entries_for_export(db), filename)
