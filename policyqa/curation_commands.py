"""The curation database on the command line: ``policyqa index`` takes the FAQ and the
published documents (applied over the knowledge folder) from it,
``policyqa faq import`` adds FAQ to it (published, as the demo's seed), ``policyqa faq export``
writes it back out in the knowledge format."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from indexer.models import Document, FaqEntry, KnowledgeBase


def index_database_url(out: Path) -> str:
    """DATABASE_URL (or POLICYQA_DATABASE_URL), else the SQLite file next to the index folder:
    the database ``policyqa serve --index out`` uses."""
    from service.config import Settings

    return Settings(index_dir=out).effective_database_url()


def document_overlay(out: Path) -> tuple[list[Document], dict[str, Any] | None]:
    """The documents published in the database (service/documents/source.py) and their key,
    for ``load_knowledge(…, overlay=…)``. A database that cannot be used gives none, with a
    warning (the folder alone is indexed)."""
    from service.db.engine import Database
    from service.db.migrate import ensure_schema
    from service.documents.source import overlay

    database = Database(index_database_url(out))
    try:
        ensure_schema(database)
        with database.session() as db:
            return overlay(db)
    except Exception as exc:
        print(
            f"警告：文件数据库不可用（{type(exc).__name__}: {str(exc)[:200]}），"
            "本次只使用知识库目录中的文件",
            file=sys.stderr,
        )
        return [], None
    finally:
        database.dispose()


def apply_curation(kb: KnowledgeBase, out: Path) -> dict[str, Any] | None:
    """Replaces ``kb.faqs`` with the database's published pairs (seeding an empty database from
    the folder). A database that cannot be used leaves the folder's FAQ, with a warning."""
    from service.db.engine import Database
    from service.db.migrate import ensure_schema
    from service.faqs.source import apply_database

    database = Database(index_database_url(out))
    try:
        ensure_schema(database)
        with database.session() as db:
            source = apply_database(kb, db)
    except Exception as exc:
        print(
            f"警告：问答数据库不可用（{type(exc).__name__}: {str(exc)[:200]}），"
            "本次只使用知识库目录中的问答文件",
            file=sys.stderr,
        )
        return None
    finally:
        database.dispose()
    return source.key() if source else None


def _entries_from(path: Path) -> list[FaqEntry] | None:
    """A knowledge folder's checked FAQ, or one FAQ file's entries (None: errors printed)."""
    from indexer.faq_files import FaqFileError, parse_faq_upload
    from indexer.knowledge import load_knowledge

    if path.is_dir():
        kb = load_knowledge(path)
        for problem in kb.problems:
            if problem.fatal and problem.path.startswith("faq/"):
                print(f"错误 {problem.path}：{problem.reason}", file=sys.stderr)
        return kb.faqs
    try:
        upload = parse_faq_upload(path.read_bytes(), path.name, None)
    except (OSError, FaqFileError) as exc:
        print(f"错误：{path}：{exc}", file=sys.stderr)
        return None
    for error in upload.errors:
        print(f"错误 {path.name} {error.describe()}", file=sys.stderr)
    if upload.errors:
        print("文件有错误，未导入任何内容", file=sys.stderr)
        return None
    return [row.entry for row in upload.entries]


def _cmd_import(args: argparse.Namespace) -> int:
    from policyqa.state_commands import _open
    from service.db.migrate import SchemaError, ensure_schema
    from service.faqs.source import import_entries

    source = Path(args.source)
    if not source.exists():
        print(f"错误：不存在：{source}", file=sys.stderr)
        return 2
    database = _open(args)
    if database is None:
        return 2
    entries = _entries_from(source)
    if entries is None:
        return 1
    try:
        ensure_schema(database)
        with database.session() as db:
            stored = import_entries(db, entries)
    except SchemaError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    skipped = len(entries) - len(stored)
    print(f"已导入 {len(stored)} 条问答（已发布）；{skipped} 条编号已在数据库中，未改动")
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from indexer.faq_files import FaqFileError, dump_faq
    from policyqa.state_commands import _open
    from service.db.migrate import SchemaError, ensure_schema
    from service.faqs.source import entries_for_export

    database = _open(args)
    if database is None:
        return 2
    out = Path(args.output)
    try:
        ensure_schema(database)
        with database.session() as db:
            entries = entries_for_export(db)
        data = dump_faq(entries, out.name)
        out.write_bytes(data)
    except (SchemaError, FaqFileError, OSError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    print(f"已导出 {len(entries)} 条已发布的问答到 {out}")
    return 0


def add_curation_commands(faq: Any) -> None:
    """``policyqa faq import | export``, beside faq-io's ``check`` and ``convert``."""
    from policyqa.state_commands import _database_options

    q = faq.add_parser(
        "import",
        help="把知识库目录（或一个 FAQ 文件）的问答导入数据库，作为已发布（编号已存在的不改动）",
    )
    q.add_argument("source", help="知识库目录，或 .yaml/.csv/.xlsx 文件")
    _database_options(q)
    q.set_defaults(func=_cmd_import)
    q = faq.add_parser("export", help="把数据库中已发布的问答导出为知识库格式（按扩展名）")
    q.add_argument("output", help="输出文件：.yaml、.csv 或 .xlsx")
    _database_options(q)
    q.set_defaults(func=_cmd_export)
