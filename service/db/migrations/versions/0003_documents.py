"""Documents managed in the database: items, immutable versions with their file, reviews

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "doc_items",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published_version_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "doc_reviews",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("reviewer_name", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("doc_reviews", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_doc_reviews_state"), ["state"], unique=False)
    op.create_table(
        "doc_versions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("doc_id", sa.String(length=80), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("doc_no", sa.String(length=100), nullable=True),
        sa.Column("issuer", sa.String(length=200), nullable=True),
        sa.Column("issued_on", sa.Date(), nullable=True),
        sa.Column("effective_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("superseded_by", sa.String(length=80), nullable=True),
        sa.Column("interprets", sa.String(length=80), nullable=True),
        sa.Column("disclosure", sa.String(length=8), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("apply_note", sa.Text(), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("file_name", sa.String(length=255), nullable=True),
        sa.Column("file_type", sa.String(length=8), nullable=True),
        sa.Column("file_bytes", sa.LargeBinary(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("author_name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["doc_id"], ["doc_items.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["review_id"], ["doc_reviews.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("doc_id", "number", name="uq_doc_version_number"),
    )
    with op.batch_alter_table("doc_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_doc_versions_doc_id"), ["doc_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_doc_versions_review_id"), ["review_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_doc_versions_state"), ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("doc_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_doc_versions_state"))
        batch_op.drop_index(batch_op.f("ix_doc_versions_review_id"))
        batch_op.drop_index(batch_op.f("ix_doc_versions_doc_id"))
    op.drop_table("doc_versions")
    with op.batch_alter_table("doc_reviews", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_doc_reviews_state"))
    op.drop_table("doc_reviews")
    op.drop_table("doc_items")
