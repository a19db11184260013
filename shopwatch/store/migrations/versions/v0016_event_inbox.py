"""the head's inbox of events stored by Ray shards (linked into incidents and deterred by the head)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_inbox",
        sa.Column("event_id", sa.String(length=32), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"], name="fk_event_inbox_event_id_events", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("event_id", name="pk_event_inbox"),
    )
    op.create_index("ix_event_inbox_start", "event_inbox", ["start"])


def downgrade() -> None:
    op.drop_index("ix_event_inbox_start", table_name="event_inbox")
    op.drop_table("event_inbox")
