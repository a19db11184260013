"""delivery leases: which process is sending a delivery, until when

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows queued before have no lease: any dispatcher may claim them.
    op.add_column("deliveries", sa.Column("leased_by", sa.String(length=64), nullable=True))
    op.add_column("deliveries", sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("leased_by")
