"""tips from people: what, where, when, photos, the nearby cameras and events, the operator's decision

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOC = sa.JSON(none_as_null=True).with_variant(postgresql.JSONB(none_as_null=True), "postgresql")


def upgrade() -> None:
    op.create_table(
        "tips",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("filed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filed_by", sa.String(length=128), nullable=False),
        sa.Column("tipster", sa.String(length=128), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("camera_id", sa.String(length=63), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("place_from", sa.String(length=16), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=True),
        sa.Column("photos", JSON_DOC, nullable=False),
        sa.Column("nearby", JSON_DOC, nullable=False),
        sa.Column("incident_id", sa.String(length=32), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("led_to_case", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_tips_status", "tips", ["status"])
    op.create_index("ix_tips_filed_at", "tips", ["filed_at"])
    op.create_index("ix_tips_tipster", "tips", ["tipster"])


def downgrade() -> None:
    op.drop_table("tips")
