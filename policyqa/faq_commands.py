"""The curation database in the commands: ``policyqa index`` takes the FAQ from it, and
``policyqa faq import`` adds a knowledge folder's FAQ files to it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from indexer.models import KnowledgeBase


def index_database_url(out: Path) -> str:
    """DATABASE_URL (or POLICYQA_DATABASE_URL), else the SQLite file next to the index folder:
    the database ``policyqa serve --index out`` uses."""
    from service.config import Settings

    return Settings(index_dir=out).effective_database_url()


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


def _cmd_import(args: argparse.Namespace) -> int:
    from indexer.knowledge import load_knowledge
    from policyqa.state_commands import _open
    from service.db.migrate import SchemaError, ensure_schema
    from service.faqs.source import import_entries

    knowledge = Path(args.knowledge)
    if not knowledge.is_dir():
        print(f"错误：知识库目录不存在：{knowledge}", file=sys.stderr)
        return 2
    database = _open(args)
    if database is None:
        return 2
    kb = load_knowledge(knowledge)
    for problem in kb.problems:
        if problem.fatal and problem.path.startswith("faq/"):
            print(f"错误 {problem.path}：{problem.reason}", file=sys.stderr)
    try:
        ensure_schema(database)
        with database.session() as db:
            stored = import_entries(db, kb.faqs)
    except SchemaError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    skipped = len(kb.faqs) - len(stored)
    print(f"已导入 {len(stored)} 条问答（已发布）；{skipped} 条编号已在数据库中，未改动")
    return 0


def add_faq_commands(sub: Any) -> None:
    from policyqa.state_commands import _database_options

    p = sub.add_parser("faq", help="问答维护：把知识库目录的问答导入数据库")
    faq = p.add_subparsers(dest="faq_command", required=True)
    q = faq.add_parser("import", help="导入知识库目录 faq/ 中的问答（编号已存在的不改动）")
    q.add_argument("knowledge", help="知识库目录")
    _database_options(q)
    q.set_defaults(func=_cmd_import)
