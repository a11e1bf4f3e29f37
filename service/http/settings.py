"""Settings of the HTTP edge, from ``POLICYQA_*`` variables (and ``REDIS_URL``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class EdgeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="POLICYQA_", extra="ignore")

    # Origins (scheme://host[:port]) whose pages may call the API, comma-separated. The service's
    # own origin is always allowed.
    allowed_origins: str = ""
    # Requests per client and minute on each public endpoint (ask, feedback, handoff, events).
    rate_limit_per_minute: int = Field(default=30, ge=1)
    # Shared counters: Redis when set; otherwise an SQLite file (by default in the temporary
    # folder, named after the index folder: shared by the worker processes of one server).
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("POLICYQA_REDIS_URL", "REDIS_URL")
    )
    rate_limit_db: Path | None = None
    # Prefix of the Redis keys, for deployments that share one Redis.
    rate_limit_namespace: str = Field(default="policyqa", pattern=r"^[A-Za-z0-9_.-]{1,40}$")

    def origins(self) -> frozenset[str]:
        return frozenset(
            o.strip().rstrip("/").lower() for o in self.allowed_origins.split(",") if o.strip()
        )
