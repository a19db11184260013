"""the case-analysis index: events by time with every column the numbers read, and autovacuum kept close

An index-only scan answers ``GET /api/stats`` from this index alone, as long as the table's visibility map is
current; PostgreSQL's default autovacuum waits for 20 % of the table to change (and for inserts, 20 % more
rows) before it vacuums, which on a year of events leaves weeks of pages that the scan must still visit. The
events table's own settings vacuum and analyze it after about 1 % of its rows change or arrive.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 00:00:00

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ["start", "grid", "type", "camera_id", "zone", "status", "incident_id"]
AUTOVACUUM = {
    "autovacuum_vacuum_scale_factor": "0.01",
    "autovacuum_vacuum_insert_scale_factor": "0.01",
    "autovacuum_analyze_scale_factor": "0.01",
}


def upgrade() -> None:
    op.create_index("ix_events_stats", "events", COLUMNS)
    if op.get_bind().dialect.name == "postgresql":
        settings = ", ".join(f"{name} = {value}" for name, value in AUTOVACUUM.items())
        op.execute(f"ALTER TABLE events SET ({settings})")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE events RESET ({', '.join(AUTOVACUUM)})")
    op.drop_index("ix_events_stats", table_name="events")
