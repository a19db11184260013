"""camera registry

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(63), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(300), nullable=False),
        sa.Column("grid", sa.String(64), nullable=False),
        sa.Column("vendor", sa.String(16), nullable=False),
        sa.Column("host", sa.String(253), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("onvif_port", sa.Integer(), nullable=False),
        sa.Column("transport", sa.String(8), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("username", sa.String(128), nullable=False),
        sa.Column("password", sa.Text(), nullable=False),
        sa.Column("merchant", _JSON, nullable=False),
        sa.Column("location", _JSON, nullable=True),
        sa.Column("streams", _JSON, nullable=False),
        sa.Column("talkback", _JSON, nullable=False),
        sa.Column("source", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("source IN ('yaml', 'csv', 'onvif', 'api')", name=op.f("ck_cameras_source")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cameras")),
    )
    for column in ("grid", "vendor", "host", "enabled"):
        op.create_index(op.f(f"ix_cameras_{column}"), "cameras", [column])

    registry_state = op.create_table(
        "registry_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_registry_state_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registry_state")),
    )
    op.bulk_insert(registry_state, [{"id": 1, "revision": 0}])


def downgrade() -> None:
    op.drop_table("registry_state")
    for column in ("grid", "vendor", "host", "enabled"):
        op.drop_index(op.f(f"ix_cameras_{column}"), table_name="cameras")
    op.drop_table("cameras")
