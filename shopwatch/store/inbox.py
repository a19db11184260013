"""The head's inbox of events that Ray shards stored themselves: what the head's incidents service must still
link into cross-camera incidents and run auto-deterrence for (``cluster/head_events.py``).

- ``event_inbox`` (``incident_tables.InboxRow``): one row per event a shard stored, written in the transaction
  that stores the event (``ShardEventRepository.add_many``): an event is in the inbox iff a shard stored it, so
  nothing stored by the head's own incidents service, and nothing from before the scale-out, is ever taken for
  a shard's.
- The head takes waiting events (``waiting``), links them in memory, and writes their links in one transaction
  that also deletes their rows (``settle``): an event's links are written once, even across a head restart
  (a head that died before the commit finds the rows again) and with two heads (only the one whose delete
  removed a row writes that event's links). Linking's memory rebuilt at a restart leaves them out
  (``EventRepository.linking_window``): an event meets the others once, when the head takes it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import Engine, delete, func, insert, select

from shopwatch.core.incident_records import Incident, Lease, NewEvent, StoredEvent
from shopwatch.store.db import write_transaction
from shopwatch.store.event_once import Added, join_incident, store_events_once
from shopwatch.store.events import EventRepository
from shopwatch.store.incident_tables import EventRow, InboxRow

_EVENT_COLUMNS = [EventRow.__table__.c[f.name] for f in fields(StoredEvent)]


class ShardEventRepository(EventRepository):
    """A shard's event store: each event stored once (``store.event_once``) and, in the same transaction, put in
    the head's inbox."""

    def add_many(self, items: Sequence[NewEvent], lease: Lease | None = None) -> Added:
        if not items:
            return Added([], [])
        with self._write() as conn:
            added = store_events_once(conn, items, lease)
            stored = added.stored(items)
            if stored:
                conn.execute(insert(InboxRow), [{"event_id": i.event.id, "start": i.event.start} for i in stored])
            return added


@dataclass(frozen=True, slots=True)
class Settled:
    taken: list[str]  # the events whose links this call wrote (another head may have taken the rest)
    seqs: list[int]  # the "linked" feed numbers written


class EventInbox:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def waiting(self, limit: int) -> list[StoredEvent]:
        """The oldest waiting events (by start), at most ``limit``."""
        stmt = (
            select(*_EVENT_COLUMNS)
            .join(InboxRow, InboxRow.event_id == EventRow.id)
            .order_by(InboxRow.start, InboxRow.event_id)
            .limit(limit)
        )
        with self._engine.connect() as conn:
            return [StoredEvent(**dict(row)) for row in conn.execute(stmt).mappings()]

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(InboxRow)).scalar_one())

    def settle(self, event_ids: Sequence[str], links: Sequence[tuple[str, Incident]], at: datetime) -> Settled:
        """In one transaction: take ``event_ids`` out of the inbox, and write the incident each of those it took
        joined (``links``: event id -> its incident as linking made it, in the order linking made them)."""
        if not event_ids:
            return Settled([], [])
        with write_transaction(self._engine) as conn:
            taken = list(
                conn.execute(delete(InboxRow).where(InboxRow.event_id.in_(event_ids)).returning(InboxRow.event_id))
                .scalars()
                .all()
            )
            mine = set(taken)
            seqs = [seq for event_id, inc in links if event_id in mine for seq in join_incident(conn, inc, at)]
        return Settled(taken, seqs)
