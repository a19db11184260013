"""camera calibrations and ignored spots

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "camera_calibrations",
        sa.Column("camera_id", sa.String(length=63), nullable=False),
        sa.Column("zone", sa.String(length=63), nullable=False),
        sa.Column("band", sa.String(length=8), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("doc", _JSON, nullable=False),
        sa.PrimaryKeyConstraint("camera_id", "zone", "band", name=op.f("pk_camera_calibrations")),
    )
    op.create_table(
        "ignored_spots",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=63), nullable=False),
        sa.Column("zone", sa.String(length=63), nullable=False),
        sa.Column("x1", sa.Float(), nullable=False),
        sa.Column("y1", sa.Float(), nullable=False),
        sa.Column("x2", sa.Float(), nullable=False),
        sa.Column("y2", sa.Float(), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ignored_spots")),
    )
    with op.batch_alter_table("ignored_spots", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ignored_spots_camera_id"), ["camera_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ignored_spots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ignored_spots_camera_id"))
    op.drop_table("ignored_spots")
    op.drop_table("camera_calibrations")
