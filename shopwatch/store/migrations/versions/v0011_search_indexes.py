"""indexes for search near a place and time: events by camera and start, tips by time, camera and position

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 20:30:00

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_camera_start", "events", ["camera_id", "start", "id"])
    op.create_index("ix_tips_seen_at", "tips", ["seen_at", "id"])
    op.create_index("ix_tips_camera", "tips", ["camera_id"])
    op.create_index("ix_tips_place", "tips", ["lat", "lon"])


def downgrade() -> None:
    op.drop_index("ix_tips_place", table_name="tips")
    op.drop_index("ix_tips_camera", table_name="tips")
    op.drop_index("ix_tips_seen_at", table_name="tips")
    op.drop_index("ix_events_camera_start", table_name="events")
