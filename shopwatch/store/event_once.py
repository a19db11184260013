"""Storing an event exactly once: the idempotent key and the one insert every writer goes through.

Two readers of one camera can report the same visit: a partitioned node's old ingest shard and the shard that
replaced it, or a spool replaying an event whose first commit reached the database although its answer never
came back. Their frame times differ by up to a second or two, so the event id (made by each reader) and the exact
start time cannot tell them apart. What can:

- ``events.event_key``: a hash of (camera, type, zone, ``floor(start / DUPLICATE_WINDOW_S)``), unique. Two reports
  whose starts fall in the same bucket collide there (``INSERT ... ON CONFLICT DO NOTHING``, PostgreSQL and SQLite);
- and a look in the two neighbouring buckets for an event of the same camera, type and zone that began less than
  ``DUPLICATE_WINDOW_S`` away, for the pair that straddles a bucket edge (0.9 s and 1.1 s with 1 s buckets).

So an event is a duplicate iff one of the same camera, type and zone began less than the window before or after
it. The look and the insert happen under a lock on (camera, type, zone) for the transaction (PostgreSQL: an
advisory transaction lock; SQLite: the write transaction holds the database), so two writers racing with
reports in neighbouring buckets cannot both miss each other. The limit: two *different* visits of one type in one
zone of one camera that begin less than the window apart are stored as one (the first one written). The rules
cannot emit such a pair with their cooldown (``cooldown_s``, 10 s by default) at least the window, except a
card-posting visit that begins within the window of another one on the same surface and ends past the
cooldown (two people posting side by side on one shutter): the patrol gets one alert for the two.

A duplicate writes nothing: no event row, no feed entry, no incident change, no outbox delivery, so it can never
be alerted twice."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from shopwatch.core.incident_records import Incident, Lease, NewEvent, StoredEvent
from shopwatch.store.incident_tables import EventRow, FeedRow, IncidentRow
from shopwatch.store.outbox import insert_deliveries

# Reports of one visit by two readers begin at most this far apart (frame times of two RTSP sessions of one
# camera, and two nodes' clocks under NTP). Keep every rule's ``cooldown_s`` at least this long.
DUPLICATE_WINDOW_S = 3.0


def event_key(camera_id: str, type_: str, zone: str, start: datetime, window_s: float = DUPLICATE_WINDOW_S) -> str:
    """The idempotent key of an event beginning at ``start`` (32 hex digits)."""
    return _key(camera_id, type_, zone, math.floor(start.timestamp() / window_s))


def _key(camera_id: str, type_: str, zone: str, bucket: int) -> str:
    raw = json.dumps([camera_id, type_, zone, bucket], ensure_ascii=False, separators=(",", ":"))
    return hashlib.blake2b(raw.encode(), digest_size=16).hexdigest()


def key_of(event: StoredEvent) -> str:
    return event_key(event.camera_id, event.type, event.zone, event.start)


def lock_keys(conn: Connection, events: Iterable[StoredEvent]) -> None:
    """Take the duplicate check's locks for these events, in one order (two writers of overlapping batches never
    wait on each other in a circle). PostgreSQL only: on SQLite the write transaction already holds the database.
    Locks are held to the end of the transaction and may be taken again by it."""
    if conn.dialect.name != "postgresql":
        return
    for name in sorted({_lock_name(e) for e in events}):
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": name})


def _lock_name(event: StoredEvent) -> str:
    return json.dumps(["shopwatch-event", event.camera_id, event.type, event.zone], ensure_ascii=False)


def find_duplicate(conn: Connection, event: StoredEvent, window_s: float = DUPLICATE_WINDOW_S) -> str | None:
    """The id of a stored event that is ``event`` reported again (same camera, type and zone, beginning less
    than ``window_s`` away), or None. (The same id again is caught by the insert's ON CONFLICT.)"""
    bucket = math.floor(event.start.timestamp() / window_s)
    keys = [_key(event.camera_id, event.type, event.zone, b) for b in (bucket - 1, bucket, bucket + 1)]
    near = conn.execute(
        select(EventRow.id, EventRow.start).where(EventRow.event_key.in_(keys)).order_by(EventRow.start)
    ).all()
    for found_id, found_start in near:
        if abs((found_start - event.start).total_seconds()) < window_s:
            return str(found_id)
    return None


def store_event_once(
    conn: Connection, item: NewEvent, lease: Lease | None = None, *, locked: bool = False
) -> list[int] | None:
    """Inside the caller's write transaction: the event, its feed entry, its incident (created or updated, and
    the earlier events that joined it) and its outbox deliveries (held by ``lease`` when given); or nothing when
    it is a duplicate. Returns the feed numbers written ("created", then "linked" ones), None for a duplicate.
    ``locked``: the caller took ``lock_keys`` for this event in this transaction already."""
    event = item.event
    if not locked:
        lock_keys(conn, [event])
    if find_duplicate(conn, event) is not None:
        return None
    values = {**_values(event), "event_key": key_of(event)}
    # The check above found nothing; ON CONFLICT still guards the key and the id (a writer that skipped the lock).
    inserted = conn.execute(_insert_ignoring(conn).values(**values).returning(EventRow.id)).scalar_one_or_none()
    if inserted is None:
        return None
    if item.incident is not None:
        _upsert_incident(conn, item.incident)
        conn.execute(update(EventRow).where(EventRow.id == event.id).values(incident_id=item.incident.id))
    seqs = [feed_entry(conn, event.id, "created", event.stored_at)]
    if item.incident is not None:
        seqs += _join(conn, item.incident, event.stored_at)
    insert_deliveries(conn, item.deliveries, lease)
    return seqs


def insert_event_once(conn: Connection, item: NewEvent, lease: Lease | None = None) -> bool:
    """``store_event_once``: True when stored, False when it was a duplicate (and nothing was written)."""
    return store_event_once(conn, item, lease) is not None


def _insert_ignoring(conn: Connection) -> Any:
    if conn.dialect.name == "postgresql":
        return postgresql.insert(EventRow).on_conflict_do_nothing()
    if conn.dialect.name == "sqlite":
        return sqlite.insert(EventRow).on_conflict_do_nothing()
    raise NotImplementedError(f"expected PostgreSQL or SQLite, found {conn.dialect.name}")


_EVENT_FIELDS = tuple(StoredEvent.__dataclass_fields__)


def _values(event: StoredEvent) -> dict[str, Any]:
    """The row's values (``asdict`` would deep-copy every JSON document first); the incident is set after the
    incident row exists."""
    return {name: getattr(event, name) for name in _EVENT_FIELDS if name != "incident_id"}


def _upsert_incident(conn: Connection, incident: Incident) -> None:
    values = asdict(incident)
    done = conn.execute(update(IncidentRow).where(IncidentRow.id == incident.id).values(**values))
    if done.rowcount == 0:
        conn.execute(insert(IncidentRow).values(**values))


def _join(conn: Connection, incident: Incident, at: datetime) -> list[int]:
    """Earlier events of ``incident`` that were not in it yet join it; returns their "linked" feed numbers."""
    joined = conn.execute(
        update(EventRow)
        .where(EventRow.incident_id.is_(None), EventRow.id.in_(incident.summary.get("events", [])))
        .values(incident_id=incident.id, updated_at=at)
        .returning(EventRow.id)
    ).scalars()
    return [feed_entry(conn, joined_id, "linked", at) for joined_id in list(joined)]


def feed_entry(conn: Connection, event_id: str, kind: str, at: datetime) -> int:
    seq = conn.execute(insert(FeedRow).values(event_id=event_id, kind=kind, at=at).returning(FeedRow.seq))
    return int(seq.scalar_one())
