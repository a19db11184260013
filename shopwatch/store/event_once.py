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
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, insert, or_, select, text, update

from shopwatch.core.incident_records import Incident, Lease, NewEvent, StoredEvent
from shopwatch.store.db import dialect_insert
from shopwatch.store.incident_tables import EventRow, FeedRow, IncidentRow
from shopwatch.store.outbox import insert_deliveries
from shopwatch.store.stats_incident_upkeep import count_incidents, uncount_incidents
from shopwatch.store.stats_upkeep import count_events

# Reports of one visit by two readers begin at most this far apart (frame times of two RTSP sessions of one
# camera, and two nodes' clocks under NTP). Keep every rule's ``cooldown_s`` at least this long.
DUPLICATE_WINDOW_S = 3.0
_IN_CHUNK = 500  # values per IN (...) list


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


@dataclass(frozen=True, slots=True)
class Added:
    seqs: list[int]  # feed numbers written: "created" per stored event, then "linked" per event that joined
    duplicates: list[str]  # ids of the events that repeated one stored (or one earlier in the batch): not written

    def stored(self, items: Sequence[NewEvent]) -> list[NewEvent]:
        """Those of ``items`` that were stored."""
        skipped = set(self.duplicates)
        return [item for item in items if item.event.id not in skipped]


def find_duplicates(
    conn: Connection, events: Sequence[StoredEvent], window_s: float = DUPLICATE_WINDOW_S
) -> dict[str, str]:
    """For each of ``events`` that repeats a stored event, or one earlier in ``events`` (same id, or same camera,
    type and zone beginning less than ``window_s`` away): its id -> the id of the one it repeats. One query for
    a burst: the events stored under the keys of each one's bucket and its two neighbours, or under its id."""
    keys: set[str] = set()
    for event in events:
        bucket = math.floor(event.start.timestamp() / window_s)
        keys.update(_key(event.camera_id, event.type, event.zone, b) for b in (bucket - 1, bucket, bucket + 1))
    wanted = [e.id for e in events]
    seen: dict[tuple[str, str, str], list[tuple[datetime, str]]] = {}
    ids: set[str] = set()
    if len(keys) + len(wanted) <= _IN_CHUNK:  # a burst: one query
        found = _near(conn, or_(EventRow.event_key.in_(sorted(keys)), EventRow.id.in_(wanted)))
    else:
        ordered = sorted(keys)
        found = [row for k in range(0, len(ordered), _IN_CHUNK)
                 for row in _near(conn, EventRow.event_key.in_(ordered[k : k + _IN_CHUNK]))]  # fmt: skip
        found += [row for k in range(0, len(wanted), _IN_CHUNK)
                  for row in _near(conn, EventRow.id.in_(wanted[k : k + _IN_CHUNK]))]  # fmt: skip
    asked = set(wanted)
    for event_id, camera_id, type_, zone, start in found:
        seen.setdefault((camera_id, type_, zone), []).append((start, str(event_id)))
        if event_id in asked:
            ids.add(str(event_id))
    repeats: dict[str, str] = {}
    for event in events:
        near = seen.setdefault((event.camera_id, event.type, event.zone), [])
        match = event.id if event.id in ids else None
        match = match or next((i for start, i in near if abs((start - event.start).total_seconds()) < window_s), None)
        if match is not None:
            repeats[event.id] = match
            continue
        near.append((event.start, event.id))
        ids.add(event.id)
    return repeats


def _near(conn: Connection, where: ColumnElement[bool]) -> list[Any]:
    stmt = select(EventRow.id, EventRow.camera_id, EventRow.type, EventRow.zone, EventRow.start).where(where)
    return list(conn.execute(stmt).all())


def store_events_once(
    conn: Connection, items: Sequence[NewEvent], lease: Lease | None = None, *, locked: bool = False
) -> Added:
    """Inside the caller's write transaction, in order: each event that is not a duplicate with its feed entry,
    its incident (created or updated, and the earlier events that joined it) and its outbox deliveries (held by
    ``lease`` when given); nothing of a duplicate. ``locked``: the caller took ``lock_keys`` for these events in
    this transaction already."""
    if not items:
        return Added([], [])
    if not locked:
        lock_keys(conn, [item.event for item in items])
    repeats = find_duplicates(conn, [item.event for item in items])
    fresh = [item for item in items if item.event.id not in repeats]
    touched = [i.incident.id for i in fresh if i.incident is not None] + [i.event.incident_id for i in fresh]
    uncount_incidents(conn, touched)  # their summary before the change (store/stats_incident_upkeep.py)
    for item in fresh:  # first: the events refer to their incidents
        if item.incident is not None:
            _upsert_incident(conn, item.incident)
    inserted: set[str] = set()
    if fresh:
        # The check found none of these stored; ON CONFLICT still guards key and id (a writer without the lock).
        rows = [{**_values(item.event), "event_key": key_of(item.event)} for item in fresh]
        inserted = {str(i) for i in conn.execute(_insert_ignoring(conn).returning(EventRow.id), rows).scalars()}
    stored = [item for item in fresh if item.event.id in inserted]
    count_events(conn, [item.event for item in stored])  # the summary tables, in this transaction
    seqs: list[int] = []
    if stored:
        created = [{"event_id": i.event.id, "kind": "created", "at": i.event.stored_at} for i in stored]
        insert_feed = insert(FeedRow).returning(FeedRow.seq, sort_by_parameter_order=True)
        seqs = [int(seq) for seq in conn.execute(insert_feed, created).scalars()]
    for item in stored:
        if item.incident is not None:
            seqs += _join(conn, item.incident, item.event.stored_at)
    count_incidents(conn, touched)  # and after it
    insert_deliveries(conn, [d for item in stored for d in item.deliveries], lease)
    return Added(seqs, [item.event.id for item in items if item.event.id not in inserted])


def insert_event_once(conn: Connection, item: NewEvent, lease: Lease | None = None) -> bool:
    """Store ``item`` inside the caller's write transaction unless it is a duplicate (``store_events_once``):
    True when stored, False when it was a duplicate (and nothing was written)."""
    return not store_events_once(conn, [item], lease).duplicates


def _insert_ignoring(conn: Connection) -> Any:
    return dialect_insert(conn.dialect.name, EventRow).on_conflict_do_nothing()


_EVENT_FIELDS = tuple(StoredEvent.__dataclass_fields__)


def _values(event: StoredEvent) -> dict[str, Any]:
    """The row's values (``asdict`` would deep-copy every JSON document first)."""
    return {name: getattr(event, name) for name in _EVENT_FIELDS}


def join_incident(conn: Connection, incident: Incident, at: datetime) -> list[int]:
    """Inside the caller's write transaction: ``incident`` created or updated, and the stored events it names that
    were in no incident yet join it (an event linked after it was stored: a Ray shard's, linked by the head);
    returns their "linked" feed numbers. The incident summary follows (store/stats_incident_upkeep.py)."""
    uncount_incidents(conn, [incident.id])
    _upsert_incident(conn, incident)
    seqs = _join(conn, incident, at)
    count_incidents(conn, [incident.id])
    return seqs


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
