"""talkback audit and clip library

Revision ID: 0002
Revises: 0001
Create Date: 2025-01-02 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_AUDIT_INDEXED = ("requested_at", "user", "camera_id", "outcome")


def upgrade() -> None:
    op.create_table(
        "talkback_audit",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("user", sa.String(128), nullable=False),
        sa.Column("camera_id", sa.String(63), nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("clip_id", sa.String(32), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("voice", sa.String(32), nullable=True),
        sa.Column("broadcast_id", sa.String(32), nullable=True),
        sa.Column("overridden", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("codec", sa.String(16), nullable=True),
        sa.Column("protocol", sa.String(16), nullable=True),
        sa.Column("played_s", sa.Float(), nullable=False),
        sa.Column("packets", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talkback_audit")),
    )
    for column in _AUDIT_INDEXED:
        op.create_index(op.f(f"ix_talkback_audit_{column}"), "talkback_audit", [column])

    op.create_table(
        "talkback_clips",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("duration_s", sa.Float(), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_talkback_clips")),
    )
    op.create_index(op.f("ix_talkback_clips_name"), "talkback_clips", ["name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_talkback_clips_name"), table_name="talkback_clips")
    op.drop_table("talkback_clips")
    for column in _AUDIT_INDEXED:
        op.drop_index(op.f(f"ix_talkback_audit_{column}"), table_name="talkback_audit")
    op.drop_table("talkback_audit")
