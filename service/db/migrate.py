"""Schema migrations: Alembic scripts shipped in ``service/db/migrations`` (package data).

``policyqa db upgrade`` runs them from an empty database; the served app runs them at start-up
on an SQLite file (under a file lock, so the workers of one server do not race) and, on
PostgreSQL, refuses to start on a schema that is not at the newest revision.
"""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from service.db.engine import Database

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class SchemaError(Exception):
    """The database is not usable by this version (message in Chinese)."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    head_revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert head_revision is not None
    return head_revision


def current(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(database: Database) -> tuple[str | None, str]:
    """Brings the schema to the newest revision; returns (before, after)."""
    before = current(database)
    config = _config()
    with database.engine.begin() as connection:
        if not database.is_sqlite:
            # Two servers starting together on one PostgreSQL: one migrates, the other waits.
            connection.exec_driver_sql("SELECT pg_advisory_xact_lock(804815)")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, head()


def ensure_schema(database: Database) -> None:
    """At start-up of the served app."""
    if database.is_sqlite:
        path = database.url.split("///", 1)[1]
        if path in ("", ":memory:"):
            upgrade(database)
            return
        lock = Path(path + ".migrate-lock")
        with lock.open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            upgrade(database)
        return
    now = current(database)
    if now != head():
        raise SchemaError(
            f"数据库结构版本为 {now or '空'}，需要 {head()}：请先运行 policyqa db upgrade"
        )
