"""Service settings: command-line options first, then ``POLICYQA_*`` environment variables.

Every entry point (``policyqa serve`` before its workers start, the uvicorn factory
``policyqa.server:create_server`` in each worker, ``policyqa ask``) gets its settings from
``load()``, which refuses a bad value with a Chinese ``ConfigError`` naming the variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "POLICYQA_"


class ConfigError(ValueError):
    """A setting that cannot be used; the message names the variable, in Chinese."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore")

    index_dir: Path = Field(description="index folder written by `policyqa index`")
    # Needed only for an index built with a sentence-transformers model: its local folder.
    encoder_model_dir: str | None = None
    # The state (conversations, tickets, staff, audit): PostgreSQL (postgresql://…) or SQLite;
    # unset: the SQLite file policyqa.sqlite next to the index folder.
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("database_url", "POLICYQA_DATABASE_URL", "DATABASE_URL"),
    )
    # Conversations (with their messages, answers, tickets) not seen for this long are purged.
    retention_days: int = Field(default=180, ge=1)
    # When staff answer handed-over conversations: local times, ISO weekdays (1 = Monday),
    # holidays and the weekend days worked instead (调休), both as comma-separated dates.
    office_timezone: str = "Asia/Shanghai"
    office_hours: str = "09:00-12:00,13:30-17:30"
    office_days: str = "1,2,3,4,5"
    holidays: str = ""
    extra_workdays: str = ""
    reply_within_minutes: int = Field(default=30, ge=1)
    # Staff cookies carry the Secure flag (turn off only for a plain-http demo on one machine).
    cookie_secure: bool = True
    # Follow-up context is kept this long; a session id not used for this long (and without an
    # open ticket) is expired: /ask issues a new one.
    session_ttl_seconds: float = Field(default=1800, gt=0)
    # How often a running server looks for a new index version to load.
    reload_seconds: float = Field(default=10, gt=0)
    # How often a running server compares the curation database's knowledge revision with the
    # index it serves (published FAQ changes are built into a new version); 0: never.
    knowledge_poll_seconds: float = Field(default=2, ge=0)
    # FAQ files uploaded by editors (.xlsx, .csv, .yaml) larger than this are refused.
    faq_upload_max_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    # Policy documents uploaded by editors (.docx, .pdf, .md, .txt, .html) larger than this are
    # refused (413).
    document_upload_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    # Question encodes that may run at once in one process; unset: one per CPU core.
    # `policyqa serve --workers N` sets it to the cores per worker.
    encode_slots: int | None = Field(default=None, ge=1)
    # Request bodies larger than this are refused with 413 before they are read.
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # Redis (shared by several servers): rate-limit counters, and the wake-ups of event streams
    # held by other processes when a message is stored (unset: they poll the database).
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("redis_url", "POLICYQA_REDIS_URL", "REDIS_URL")
    )

    # ---- analytics (service/analytics.py) ----
    # Questions grouped by meaning per request at most (the most recent ones of the period); the
    # page and the API say when the period had more.
    analytics_max_questions: int = Field(default=1000, ge=10, le=20000)
    # Cosine similarity (with the engine's query encoder) above which wordings join one group.
    analytics_group_similarity: float = Field(default=0.65, gt=0, lt=1)

    # ---- HTTP edge (service/http/) ----
    # Origins (scheme://host[:port]) whose pages may call the API, comma-separated. The service's
    # own origin is always allowed.
    allowed_origins: str = ""
    # Requests per client and minute on each public endpoint (ask, feedback, handoff, events).
    rate_limit_per_minute: int = Field(default=30, ge=1)
    # Shared counters without Redis: an SQLite file (by default in the temporary folder, named
    # after the index folder: shared by the worker processes of one server).
    rate_limit_db: Path | None = None
    # Prefix of the Redis keys, for deployments that share one Redis.
    rate_limit_namespace: str = Field(default="policyqa", pattern=r"^[A-Za-z0-9_.-]{1,40}$")

    def effective_encode_slots(self) -> int:
        return self.encode_slots or os.cpu_count() or 1

    def origins(self) -> frozenset[str]:
        return frozenset(
            o.strip().rstrip("/").lower() for o in self.allowed_origins.split(",") if o.strip()
        )

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.index_dir.resolve().parent / 'policyqa.sqlite'}"


def load(**given: Any) -> Settings:
    """Settings from ``given`` (command-line options) and the environment; raises ConfigError."""
    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        wrong = []
        for error in exc.errors():
            field = "_".join(str(part) for part in error["loc"])
            name = f"{ENV_PREFIX}{field.upper()}"
            if field in given and given[field] is not None:
                name = f"设置 {field}"
            value = f"={error.get('input')!r}" if error["type"] != "missing" else ""
            wrong.append(f"{name}{value}（{_problem(error)}）")
        raise ConfigError("环境变量取值无效：" + "；".join(wrong)) from None


def _problem(error: Any) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind in ("greater_than_equal", "greater_than"):
        bound = ctx.get("ge", ctx.get("gt"))
        return f"应{'不小于' if kind == 'greater_than_equal' else '大于'} {bound}"
    if kind == "int_parsing":
        return "应为整数"
    if kind == "float_parsing":
        return "应为数字"
    if kind == "missing":
        return "未设置"
    return str(error["msg"])
