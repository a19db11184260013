"""camera onvif section

Revision ID: 0003
Revises: 0002
Create Date: 2025-01-03 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    # What ONVIF onboarding found (events, snapshot URL, profile tokens); null for cameras never onboarded.
    op.add_column("cameras", sa.Column("onvif", _JSON, nullable=True))


def downgrade() -> None:
    op.drop_column("cameras", "onvif")
