"""``policyqa db upgrade | purge`` and ``policyqa admin create-user``: the state commands."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from service.staff.accounts import ROLES


def _database_url(args: argparse.Namespace) -> str | None:
    """--database-url, else POLICYQA_DATABASE_URL / DATABASE_URL, else the file next to --index."""
    import os
    from pathlib import Path

    from service.config import Settings

    if args.database_url:
        return str(args.database_url)
    for name in ("POLICYQA_DATABASE_URL", "DATABASE_URL"):
        if os.environ.get(name):
            return os.environ[name]
    if args.index:
        return Settings(index_dir=Path(args.index)).effective_database_url()
    print(
        "错误：请用 --database-url 或环境变量 DATABASE_URL 指定数据库（或用 --index 指定索引目录，"
        "使用其旁边的 policyqa.sqlite）",
        file=sys.stderr,
    )
    return None


def _open(args: argparse.Namespace) -> Any:
    from service.db.engine import Database

    url = _database_url(args)
    return Database(url) if url else None


def _cmd_upgrade(args: argparse.Namespace) -> int:
    from service.db.migrate import upgrade

    database = _open(args)
    if database is None:
        return 2
    try:
        before, after = upgrade(database)
    except Exception as exc:
        print(f"错误：数据库迁移失败：{exc.__class__.__name__}: {str(exc)[:300]}", file=sys.stderr)
        return 1
    print(f"数据库结构：{before or '空'} → {after}")
    return 0


def _cmd_purge(args: argparse.Namespace) -> int:
    from pathlib import Path

    from service.config import Settings
    from service.conversations import Conversations
    from service.db.migrate import SchemaError, ensure_schema
    from service.events import Notifier
    from service.routes.state import office_hours

    database = _open(args)
    if database is None:
        return 2
    try:
        ensure_schema(database)
    except SchemaError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    settings = Settings(index_dir=Path(args.index or "."), database_url=database.url)
    days = args.days or settings.retention_days
    conversations = Conversations(
        database=database,
        answerer=lambda: None,  # type: ignore[arg-type,return-value]  # purging answers nothing
        notifier=Notifier(None),
        office_hours=office_hours(settings),
        session_ttl_seconds=settings.session_ttl_seconds,
        retention_days=days,
    )
    removed = conversations.purge()
    print(f"已删除 {removed} 个超过 {days} 天未活动的会话（含消息、回答记录、评价和已关闭的工单）")
    return 0


def _cmd_create_user(args: argparse.Namespace) -> int:
    from service.db.migrate import SchemaError, ensure_schema
    from service.problems import Problem
    from service.staff import accounts, audit

    database = _open(args)
    if database is None:
        return 2
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("密码：")
        if getpass.getpass("再次输入密码：") != password:
            print("错误：两次输入的密码不一致", file=sys.stderr)
            return 2
    try:
        ensure_schema(database)
        with database.session() as db:
            user = accounts.create_user(db, name=args.name, password=password, roles=args.role)
            audit.record(
                db,
                actor_id=None,
                actor_name="命令行",
                action="user_create",
                target=f"user:{args.name}",
                detail={"roles": sorted(set(args.role))},
            )
            user_id = user.id
    except (Problem, SchemaError) as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2
    roles = "、".join(ROLES[r] for r in sorted(set(args.role)))
    print(f"已创建工作人员 {args.name}（编号 {user_id}，角色：{roles}）")
    return 0


def _database_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--database-url", help="数据库地址（默认取环境变量 DATABASE_URL）")
    p.add_argument("--index", help="索引目录：未指定数据库时使用其旁边的 policyqa.sqlite")


def add_state_commands(sub: Any) -> None:
    p = sub.add_parser("db", help="数据库：迁移、按保留期限清理")
    db = p.add_subparsers(dest="db_command", required=True)
    q = db.add_parser("upgrade", help="把数据库结构升级到最新版本（可从空库开始）")
    _database_options(q)
    q.set_defaults(func=_cmd_upgrade)
    q = db.add_parser("purge", help="删除超过保留期限的会话（可由 cron 定时运行）")
    _database_options(q)
    q.add_argument("--days", type=int, help="保留天数（默认取 POLICYQA_RETENTION_DAYS，180）")
    q.set_defaults(func=_cmd_purge)

    p = sub.add_parser("admin", help="工作人员账号")
    admin = p.add_subparsers(dest="admin_command", required=True)
    q = admin.add_parser("create-user", help="新建工作人员（第一个管理员用它创建）")
    q.add_argument("name", help="用户名")
    q.add_argument(
        "--role", action="append", required=True, choices=sorted(ROLES), help="角色，可重复"
    )
    q.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（一行）")
    _database_options(q)
    q.set_defaults(func=_cmd_create_user)
