"""Service settings: command-line options first, then ``POLICYQA_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICYQA_", extra="ignore")

    index_dir: Path = Field(description="index folder written by `policyqa index`")
    # Needed only for an index built with a sentence-transformers model: its local folder.
    encoder_model_dir: str | None = None
    # The state (conversations, tickets, staff, audit): PostgreSQL (postgresql://…) or SQLite;
    # unset: the SQLite file policyqa.sqlite next to the index folder.
    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("database_url", "POLICYQA_DATABASE_URL", "DATABASE_URL"),
    )
    # Redis wakes event streams held by other processes when a message is stored; unset: polling.
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("redis_url", "POLICYQA_REDIS_URL", "REDIS_URL")
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
    # Question encodes that may run at once in one process; unset: one per CPU core.
    # `policyqa serve --workers N` sets it to the cores per worker.
    encode_slots: int | None = Field(default=None, ge=1)

    def effective_encode_slots(self) -> int:
        return self.encode_slots or os.cpu_count() or 1

    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.index_dir.resolve().parent / 'policyqa.sqlite'}"
