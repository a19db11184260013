"""Keeping the incident summary (``stats_incident_days``, ``stats_split_incidents``; store/stats_tables.py) equal
to the events, inside the caller's transaction. An incident's contribution depends on all its events, so a
change to its events (one stored in it, earlier ones joining it, a tip confirmed into it, a purge) takes its
contribution away before the change (``uncount_incidents``) and adds it again after (``count_incidents``),
both from its events as they are then. On PostgreSQL both first take a transaction lock per incident (in one
order), so two writers changing one incident's events at once take turns, and the second reads the first's
events (READ COMMITTED) instead of counting the incident from a set of events that is no longer its (the lock
also queues their upserts of the incident row, which raced on its primary key); on SQLite the write
transaction already holds the database."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC
from typing import Any

from sqlalchemy import Connection, delete, select, text

from shopwatch.store.db import dialect_insert
from shopwatch.store.incident_tables import EventRow
from shopwatch.store.stats_tables import INCIDENT_KEYS, STATS_INCIDENT_DAYS, STATS_SPLIT_INCIDENTS
from shopwatch.store.stats_upkeep import add_counts, day_of, drop_empty

_IN_CHUNK = 500


def hours_mask(hours: Iterable[int]) -> int:
    return sum(1 << h for h in set(hours))


def _contributions(
    conn: Connection, incident_ids: list[str], sign: int
) -> tuple[dict[tuple[Any, ...], list[int]], list[str]]:
    """(summary rows by key -> [sign per incident], the incidents whose events fall on two days or more)."""
    events: dict[str, list[Any]] = {}
    for at in range(0, len(incident_ids), _IN_CHUNK):
        stmt = select(EventRow.incident_id, EventRow.start, EventRow.grid, EventRow.type).where(
            EventRow.incident_id.in_(incident_ids[at : at + _IN_CHUNK])
        )
        for incident_id, *event in conn.execute(stmt):
            events.setdefault(str(incident_id), []).append(event)
    rows: dict[tuple[Any, ...], list[int]] = {}
    split: list[str] = []
    for incident_id, found in sorted(events.items()):
        days = {day_of(start) for start, _, _ in found}
        if len(days) > 1:
            split.append(incident_id)
            continue
        day = days.pop()
        keys = [("total", ""), *(("grid", g) for g in {g for _, g, _ in found}),
                *(("type", t) for t in {t for _, _, t in found}),
                ("hours", str(hours_mask(s.astimezone(UTC).hour for s, _, _ in found)))]  # fmt: skip
        for key in keys:
            rows.setdefault((day, *key), [0])[0] += sign
    return rows, split


def _lock(conn: Connection, ids: list[str]) -> None:
    if conn.dialect.name != "postgresql":
        return
    for incident_id in ids:  # sorted: two writers never wait on each other in a circle
        name = f"shopwatch-incident:{incident_id}"
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})


def count_incidents(conn: Connection, incident_ids: Iterable[str | None]) -> None:
    """These incidents, with their events as they are now, join the summary."""
    ids = sorted({i for i in incident_ids if i})
    if not ids:
        return
    _lock(conn, ids)
    rows, split = _contributions(conn, ids, 1)
    add_counts(conn, STATS_INCIDENT_DAYS, INCIDENT_KEYS, ("incidents",), rows)
    if split:
        insert = dialect_insert(conn.dialect.name, STATS_SPLIT_INCIDENTS).on_conflict_do_nothing()
        conn.execute(insert, [{"incident_id": i} for i in split])


def uncount_incidents(conn: Connection, incident_ids: Iterable[str | None]) -> None:
    """These incidents, with their events as they are now, leave the summary (before their events change)."""
    ids = sorted({i for i in incident_ids if i})
    if not ids:
        return
    _lock(conn, ids)
    rows, split = _contributions(conn, ids, -1)
    add_counts(conn, STATS_INCIDENT_DAYS, INCIDENT_KEYS, ("incidents",), rows)
    drop_empty(conn, STATS_INCIDENT_DAYS, INCIDENT_KEYS, rows, "incidents")
    for at in range(0, len(split), _IN_CHUNK):
        gone = STATS_SPLIT_INCIDENTS.c.incident_id.in_(split[at : at + _IN_CHUNK])
        conn.execute(delete(STATS_SPLIT_INCIDENTS).where(gone))
