"""camera detection section (zones and rules)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # Zones and rules per camera (CameraConfig.detection); cameras registered before get the defaults: no zones.
    op.add_column("cameras", sa.Column("detection", _JSON, nullable=False, server_default=sa.text("'{}'")))


def downgrade() -> None:
    op.drop_column("cameras", "detection")
