"""Blocking access to stored events, their transitions, linked incidents and the live feed (call it from a
thread in async code). Each write is one transaction: an event, its feed entry, its incident and its
outbox deliveries are committed together or not at all."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, and_, delete, func, insert, or_, select, update

from shopwatch.core.errors import Invalid
from shopwatch.core.incident_records import (
    FeedEntry,
    Incident,
    Lease,
    NewDelivery,
    NewEvent,
    Sighted,
    StoredEvent,
    StoredEventPage,
    Transition,
)
from shopwatch.store.db import write_transaction
from shopwatch.store.event_once import Added, feed_entry, insert_event_once, store_events_once
from shopwatch.store.event_stats import EventStats, StatsQuery, event_stats
from shopwatch.store.incident_tables import DeliveryRow, EventRow, FeedRow, InboxRow, IncidentRow, TransitionRow
from shopwatch.store.outbox import insert_deliveries
from shopwatch.store.stats_incident_upkeep import count_incidents, uncount_incidents
from shopwatch.store.stats_upkeep import recount_verdict, uncount_events

__all__ = ["Added", "EventQuery", "EventRepository", "insert_event_once"]

# Builds an escalated event's supervisor deliveries (the incidents service supplies it).
EscalationBuilder = Callable[[StoredEvent], list[NewDelivery]]


@dataclass(frozen=True, slots=True)
class EventQuery:
    camera_ids: frozenset[str] = frozenset()
    grids: frozenset[str] | None = None  # None: any grid; empty: none (a caller scoped to no grid)
    types: frozenset[str] = frozenset()
    statuses: frozenset[str] = frozenset()
    incident_id: str | None = None
    since: datetime | None = None  # start >= since
    until: datetime | None = None  # start < until
    limit: int = 50
    cursor: str | None = None  # from a previous page's ``next_cursor``


class BadCursor(Invalid):
    pass


_EVENT_FIELDS = tuple(f.name for f in fields(StoredEvent))
_EVENT_COLUMNS = [EventRow.__table__.c[name] for name in _EVENT_FIELDS]
_COUNTED = (EventRow.start, EventRow.grid, EventRow.type, EventRow.camera_id, EventRow.zone, EventRow.status)


def _event(row: RowMapping) -> StoredEvent:
    return StoredEvent(**{name: row[name] for name in _EVENT_FIELDS})


def encode_cursor(event: StoredEvent) -> str:
    raw = json.dumps([event.start.isoformat(), event.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        start, event_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(start), str(event_id)
    except (binascii.Error, ValueError, TypeError) as exc:
        raise BadCursor(f"expected a cursor from a previous page, found {cursor[:40]!r}") from exc


class EventRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    # -- writing -------------------------------------------------------------------------------------------

    def add(self, event: StoredEvent, deliveries: Sequence[NewDelivery], incident: Incident | None = None) -> Added:
        """Store a new event with its outbox deliveries (and its incident, created or updated), unless it is a
        duplicate (``store.event_once``)."""
        return self.add_many([NewEvent(event, deliveries, incident)])

    def add_many(self, items: Sequence[NewEvent], lease: Lease | None = None) -> Added:
        """Store events in arrival order in one transaction (one commit for a burst instead of one per event),
        each once: a duplicate of a stored event (or of one earlier in the batch) writes nothing. Their
        deliveries are held by ``lease`` when given (the dispatcher that will send them at once)."""
        if not items:
            return Added([], [])
        with self._write() as conn:
            return store_events_once(conn, items, lease)

    def set_status(self, change: Transition, also: Callable[[Connection], object] | None = None) -> int | None:
        """Apply a transition the workflow allowed, if the event is still in ``change.from_status``. Returns
        the feed number, or None when the event is gone or its status changed meanwhile. ``also`` writes what
        goes with the transition (the spots of a false positive) in the same transaction: both or neither."""
        with self._write() as conn:
            changed = conn.execute(
                update(EventRow)
                .where(EventRow.id == change.event_id, EventRow.status == change.from_status)
                .values(status=change.to_status, updated_at=change.at)
                .returning(*_COUNTED)
            ).first()
            if changed is None:
                return None
            recount_verdict(conn, changed, change.from_status)  # the summary tables, in this transaction
            conn.execute(insert(TransitionRow).values(**asdict(change)))
            if also is not None:
                also(conn)
            return feed_entry(conn, change.event_id, "transition", change.at)

    def set_deterrence(self, event_id: str, outcome: dict[str, Any], at: datetime) -> int | None:
        with self._write() as conn:
            done = conn.execute(
                update(EventRow).where(EventRow.id == event_id).values(deterrence=outcome, updated_at=at)
            )
            return feed_entry(conn, event_id, "deterrence", at) if done.rowcount else None

    def escalate_due(self, now: datetime, build: EscalationBuilder, limit: int = 200) -> list[str]:
        """Events still ``new`` whose escalation time has come: their supervisor deliveries are queued and
        they are marked escalated, in one transaction (an event escalates once). Returns their ids."""
        with self._write() as conn:
            rows = conn.execute(
                select(*_EVENT_COLUMNS)
                .where(EventRow.status == "new", EventRow.escalated_at.is_(None), EventRow.escalate_at <= now)
                .order_by(EventRow.escalate_at)
                .limit(limit)
            ).mappings()
            events = [_event(r) for r in rows]
            for event in events:
                insert_deliveries(conn, build(event))
                conn.execute(update(EventRow).where(EventRow.id == event.id).values(escalated_at=now))
            return [e.id for e in events]

    # -- reading -------------------------------------------------------------------------------------------

    def get(self, event_id: str) -> StoredEvent | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(*_EVENT_COLUMNS).where(EventRow.id == event_id)).mappings().first()
        return None if row is None else _event(row)

    def query(self, q: EventQuery) -> StoredEventPage:
        """Newest first (by start time, then id), ``q.limit`` at a time."""
        stmt = select(*_EVENT_COLUMNS)
        for column, wanted in (
            (EventRow.camera_id, q.camera_ids),
            (EventRow.type, q.types),
            (EventRow.status, q.statuses),
        ):
            if wanted:
                stmt = stmt.where(column.in_(sorted(wanted)))
        if q.grids is not None:
            stmt = stmt.where(EventRow.grid.in_(sorted(q.grids)))
        if q.incident_id is not None:
            stmt = stmt.where(EventRow.incident_id == q.incident_id)
        if q.since is not None:
            stmt = stmt.where(EventRow.start >= q.since)
        if q.until is not None:
            stmt = stmt.where(EventRow.start < q.until)
        if q.cursor:
            start, event_id = decode_cursor(q.cursor)
            stmt = stmt.where(or_(EventRow.start < start, and_(EventRow.start == start, EventRow.id < event_id)))
        stmt = stmt.order_by(EventRow.start.desc(), EventRow.id.desc()).limit(q.limit + 1)
        with self._engine.connect() as conn:
            events = [_event(r) for r in conn.execute(stmt).mappings()]
        more = len(events) > q.limit
        events = events[: q.limit]
        return StoredEventPage(events, encode_cursor(events[-1]) if more and events else None)

    def stats(self, q: StatsQuery) -> EventStats:
        """Counts for a period and the one before it (see ``event_stats``)."""
        return event_stats(self._engine, q)

    def transitions(self, event_id: str) -> list[Transition]:
        cols = [TransitionRow.__table__.c[f.name] for f in fields(Transition)]
        stmt = select(*cols).where(TransitionRow.event_id == event_id).order_by(TransitionRow.id)
        with self._engine.connect() as conn:
            return [Transition(**dict(r)) for r in conn.execute(stmt).mappings()]

    def incident(self, incident_id: str) -> Incident | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(IncidentRow.__table__).where(IncidentRow.id == incident_id)).mappings().first()
        return None if row is None else Incident(**dict(row))

    def incidents(self, limit: int = 50, grids: frozenset[str] | None = None) -> list[Incident]:
        """The latest incidents; with ``grids``, only those with an event in one of them."""
        stmt = select(IncidentRow.__table__).order_by(IncidentRow.last_at.desc()).limit(limit)
        if grids is not None:
            stmt = stmt.where(IncidentRow.id.in_(select(EventRow.incident_id).where(EventRow.grid.in_(grids))))
        with self._engine.connect() as conn:
            return [Incident(**dict(r)) for r in conn.execute(stmt).mappings()]

    def linking_window(self, since: datetime, limit: int = 10_000) -> list[Sighted]:
        """The events linking keeps in memory, for its rebuild after a restart: those that began at ``since`` or
        later with every event of the incidents they joined (a path may be older than the window), false
        positives and the events Ray shards stored that the head has not linked yet (``store/inbox.py``: it
        links them when it takes them) left out; oldest first, the newest ``limit`` at most."""
        joined = select(EventRow.incident_id).where(EventRow.start >= since, EventRow.incident_id.is_not(None))
        stmt = (
            select(EventRow.id, EventRow.camera_id, EventRow.type, EventRow.start, EventRow.incident_id)
            .where(EventRow.status != "false_positive", or_(EventRow.start >= since, EventRow.incident_id.in_(joined)))
            .where(EventRow.id.not_in(select(InboxRow.event_id)))
            .order_by(EventRow.start.desc(), EventRow.id.desc())
            .limit(limit)
        )
        with self._engine.connect() as conn:
            rows = conn.execute(stmt).all()
        return [Sighted(*row) for row in reversed(rows)]

    def feed_since(self, seq: int, limit: int = 500) -> list[FeedEntry]:
        """Feed entries after ``seq``, oldest first, each with the event as it is now."""
        stmt = (
            select(FeedRow.seq, FeedRow.kind, *_EVENT_COLUMNS)
            .join(EventRow, EventRow.id == FeedRow.event_id)
            .where(FeedRow.seq > seq)
            .order_by(FeedRow.seq)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [FeedEntry(r["seq"], r["kind"], _event(r)) for r in conn.execute(stmt).mappings()]

    def awaiting_confirmation(self, limit: int) -> list[StoredEvent]:
        """Events still ``new`` whose warning waits for an operator's acknowledgement (``confirm`` mode): what an
        incidents service that starts must wait for again (the wait itself is kept in memory)."""
        stmt = (
            select(*_EVENT_COLUMNS)
            .where(EventRow.status == "new", EventRow.deterrence.is_not(None))
            .order_by(EventRow.stored_at, EventRow.id)
        )
        with self._engine.connect() as conn:
            events = (_event(r) for r in conn.execute(stmt).mappings())
            waiting = [e for e in events if (e.deterrence or {}).get("outcome") == "awaiting_confirmation"]
        return waiting[:limit]

    def last_seq(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(FeedRow.seq), 0))).scalar_one())

    # -- retention -----------------------------------------------------------------------------------------

    def oldest_media(self, limit: int) -> list[StoredEvent]:
        stmt = select(*_EVENT_COLUMNS).order_by(EventRow.start, EventRow.id).limit(limit)
        with self._engine.connect() as conn:
            return [_event(r) for r in conn.execute(stmt).mappings()]

    def media_bytes(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.sum(EventRow.media_bytes), 0))).scalar_one())

    def delete(self, event_ids: Sequence[str]) -> int:
        """Delete events with their transitions, feed entries and deliveries; incidents left empty go too."""
        if not event_ids:
            return 0
        with self._write() as conn:
            ids = list(event_ids)
            linked = select(EventRow.incident_id).where(EventRow.id.in_(ids), EventRow.incident_id.is_not(None))
            incidents = list(conn.execute(linked.distinct()).scalars())
            uncount_incidents(conn, incidents)  # the incident summary: before, and after (below)
            # Explicit deletes: SQLite enforces ON DELETE CASCADE, but an older PostgreSQL dump may not have it.
            for table in (TransitionRow, FeedRow, DeliveryRow):
                conn.execute(delete(table).where(table.event_id.in_(ids)))
            gone = conn.execute(delete(EventRow).where(EventRow.id.in_(ids)).returning(*_COUNTED)).all()
            uncount_events(conn, gone)
            count_incidents(conn, incidents)
            used = select(EventRow.incident_id).where(EventRow.incident_id.is_not(None))
            conn.execute(delete(IncidentRow).where(IncidentRow.id.not_in(used)))
            return len(gone)
