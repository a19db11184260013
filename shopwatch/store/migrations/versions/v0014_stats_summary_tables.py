"""summary tables of the case-analysis numbers, filled from the stored events; the linked-events index

``stats_days`` (per UTC day, grid and type, with hourly columns) and ``stats_camera_months`` (per UTC month,
camera, zone and type) hold the counts that ``GET /api/stats`` adds up instead of the events
(store/stats_tables.py); from here on every write keeps them exact in its own transaction
(store/stats_upkeep.py). This revision fills them from the events already stored, in one pass over the events
in time order, counted as store/stats_upkeep.py counts them (frozen here: a later change there must not rewrite
history). ``ix_events_linked`` holds only the events in an incident, for the distinct incidents.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 00:00:00

"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONFIRMED = ("dispatched", "resolved")
FALSE_POSITIVE = "false_positive"
TOTALS = ["events", "confirmed", "false_positives"]
DAY_COUNTS = TOTALS + [f"{kind}{h:02d}" for kind in "ecf" for h in range(24)]
DAY_KEYS = ["day", "grid", "type"]
MONTH_KEYS = ["month", "camera_id", "grid", "zone", "type"]
LINKED = sa.text("incident_id IS NOT NULL")
_BATCH = 5_000
_EVENTS = sa.table(
    "events",
    sa.column("start", sa.DateTime(timezone=True)),
    sa.column("grid", sa.String),
    sa.column("type", sa.String),
    sa.column("camera_id", sa.String),
    sa.column("zone", sa.String),
    sa.column("status", sa.String),
)


def _utc(moment: datetime | str) -> datetime:
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)  # SQLite: naive UTC


def _stored(value: datetime, dialect: str) -> datetime:
    return value.replace(tzinfo=None) if dialect == "sqlite" else value  # as UtcDateTime stores it


def _counts() -> tuple[dict[tuple[Any, ...], list[int]], dict[tuple[Any, ...], list[int]]]:
    days: dict[tuple[Any, ...], list[int]] = {}
    months: dict[tuple[Any, ...], list[int]] = {}
    stmt = sa.select(_EVENTS.c.start, _EVENTS.c.grid, _EVENTS.c.type, _EVENTS.c.camera_id, _EVENTS.c.zone,
                     _EVENTS.c.status)  # fmt: skip
    result = op.get_bind().execute(stmt.execution_options(yield_per=_BATCH))
    for start, grid, type_, camera_id, zone, status in result:
        at = _utc(start)
        numbers = (1, int(status in CONFIRMED), int(status == FALSE_POSITIVE))
        day_start = at.replace(hour=0, minute=0, second=0, microsecond=0)
        day = days.setdefault((day_start, grid, type_), [0] * len(DAY_COUNTS))
        month = months.setdefault((day_start.replace(day=1), camera_id, grid, zone, type_), [0, 0, 0])
        for n in range(3):
            day[n] += numbers[n]
            day[3 + 24 * n + at.hour] += numbers[n]
            month[n] += numbers[n]
    return days, months


def _rows(counts: dict[tuple[Any, ...], list[int]], keys: list[str], names: list[str], dialect: str) -> Iterator[
    dict[str, Any]
]:  # fmt: skip
    for key, numbers in sorted(counts.items()):
        yield dict(zip(keys + names, (_stored(key[0], dialect), *key[1:], *numbers), strict=True))


def upgrade() -> None:
    day_counts = [sa.Column(name, sa.Integer(), nullable=False) for name in DAY_COUNTS]
    days = op.create_table(
        "stats_days",
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        *day_counts,
        sa.PrimaryKeyConstraint(*DAY_KEYS, name=op.f("pk_stats_days")),
    )
    months = op.create_table(
        "stats_camera_months",
        sa.Column("month", sa.DateTime(timezone=True), nullable=False),
        sa.Column("camera_id", sa.String(length=63), nullable=False),
        sa.Column("grid", sa.String(length=64), nullable=False),
        sa.Column("zone", sa.String(length=64), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        *(sa.Column(name, sa.Integer(), nullable=False) for name in TOTALS),
        sa.PrimaryKeyConstraint(*MONTH_KEYS, name=op.f("pk_stats_camera_months")),
    )
    op.create_index(
        "ix_events_linked", "events", ["start", "grid", "type", "incident_id"],
        postgresql_where=LINKED, sqlite_where=LINKED,
    )  # fmt: skip
    dialect = op.get_bind().dialect.name
    by_day, by_month = _counts()
    for table, counts, keys, names in ((days, by_day, DAY_KEYS, DAY_COUNTS), (months, by_month, MONTH_KEYS, TOTALS)):
        rows = list(_rows(counts, keys, names, dialect))
        for at in range(0, len(rows), _BATCH):
            op.bulk_insert(table, rows[at : at + _BATCH])


def downgrade() -> None:
    op.drop_index("ix_events_linked", table_name="events", postgresql_where=LINKED, sqlite_where=LINKED)
    op.drop_table("stats_camera_months")
    op.drop_table("stats_days")
