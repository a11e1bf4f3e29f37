"""Service settings: command-line options first, then ``POLICYQA_*`` environment variables."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICYQA_", extra="ignore")

    index_dir: Path = Field(description="index folder written by `policyqa index`")
    # Needed only for an index built with a sentence-transformers model: its local folder.
    encoder_model_dir: str | None = None
    # Set when several server processes share sessions (policyqa serve --workers N).
    session_db: Path | None = None
    session_ttl_seconds: float = Field(default=1800, gt=0)
    # How often a running server looks for a new index version to load.
    reload_seconds: float = Field(default=10, gt=0)
    # Question encodes that may run at once in one process; unset: one per CPU core.
    # `policyqa serve --workers N` sets it to the cores per worker.
    encode_slots: int | None = Field(default=None, ge=1)

    def effective_encode_slots(self) -> int:
        return self.encode_slots or os.cpu_count() or 1
