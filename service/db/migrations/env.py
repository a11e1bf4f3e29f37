"""Alembic environment: the URL and the connection come from service.db.migrate."""

from __future__ import annotations

from alembic import context

from service.db.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - always called through service.db.migrate
    raise RuntimeError("run migrations with `policyqa db upgrade`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
