"""the incident summary of the case-analysis numbers, filled from the stored events

``stats_incident_days`` counts, per UTC day, the incidents whose events all fall on that day, once per set and
key (total, each grid, each type, the bitmask of their UTC hours); ``stats_split_incidents`` lists the incidents
whose events fall on two days or more (store/stats_tables.py). From here on every change to an incident's events
keeps them exact in its own transaction (store/stats_incident_upkeep.py). This revision fills them from the
linked events already stored, counted as store/stats_incident_upkeep.py counts them (frozen here).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 00:40:00

"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 5_000
_EVENTS = sa.table(
    "events",
    sa.column("incident_id", sa.String),
    sa.column("start", sa.DateTime(timezone=True)),
    sa.column("grid", sa.String),
    sa.column("type", sa.String),
)


def _utc(moment: datetime | str) -> datetime:
    value = moment if isinstance(moment, datetime) else datetime.fromisoformat(moment)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)  # SQLite: naive UTC


def _summary() -> tuple[dict[tuple[Any, ...], int], list[str]]:
    events: dict[str, list[tuple[datetime, str, str]]] = {}
    stmt = sa.select(_EVENTS.c.incident_id, _EVENTS.c.start, _EVENTS.c.grid, _EVENTS.c.type).where(
        _EVENTS.c.incident_id.is_not(None)
    )
    for incident_id, start, grid, type_ in op.get_bind().execute(stmt.execution_options(yield_per=_BATCH)):
        events.setdefault(str(incident_id), []).append((_utc(start), grid, type_))
    rows: dict[tuple[Any, ...], int] = {}
    split: list[str] = []
    for incident_id, found in sorted(events.items()):
        days = {at.replace(hour=0, minute=0, second=0, microsecond=0) for at, _, _ in found}
        if len(days) > 1:
            split.append(incident_id)
            continue
        day = days.pop()
        mask = sum(1 << h for h in {at.hour for at, _, _ in found})
        keys = [("total", ""), *(("grid", g) for g in {g for _, g, _ in found}),
                *(("type", t) for t in {t for _, _, t in found}), ("hours", str(mask))]  # fmt: skip
        for key in keys:
            rows[(day, *key)] = rows.get((day, *key), 0) + 1
    return rows, split


def upgrade() -> None:
    days = op.create_table(
        "stats_incident_days",
        sa.Column("day", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set", sa.String(length=8), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("incidents", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "set", "key", name=op.f("pk_stats_incident_days")),
    )
    split_table = op.create_table(
        "stats_split_incidents",
        sa.Column("incident_id", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_stats_split_incidents")),
    )
    sqlite = op.get_bind().dialect.name == "sqlite"
    rows, split = _summary()
    values = [{"day": day.replace(tzinfo=None) if sqlite else day, "set": set_, "key": key, "incidents": n}
              for (day, set_, key), n in sorted(rows.items())]  # fmt: skip
    for at in range(0, len(values), _BATCH):
        op.bulk_insert(days, values[at : at + _BATCH])
    for at in range(0, len(split), _BATCH):
        op.bulk_insert(split_table, [{"incident_id": i} for i in split[at : at + _BATCH]])


def downgrade() -> None:
    op.drop_table("stats_split_incidents")
    op.drop_table("stats_incident_days")
