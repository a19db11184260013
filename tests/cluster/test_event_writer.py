"""A shard's events to the database (``cluster/event_writer.py`` over ``store.durable_sink``): recorded with
their media and alert deliveries, spooled while the database refuses them, stored once each when it takes them
again, and a second report of a stored visit (another shard reading the camera) writes nothing."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, func, select

from shopwatch.cluster.event_writer import Recorder, ShardEvents
from shopwatch.core.clock import SystemClock
from shopwatch.core.events import Event, EventType
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.store.db import create_engine_for, migrate
from shopwatch.store.durable_sink import DurableEventSink, SinkLimits
from shopwatch.store.events import EventRepository
from shopwatch.store.incident_tables import EventRow, FeedRow
from shopwatch.store.spool import EventSpool
from tests.cluster.helpers import wait_for


def visit(i: int, camera_id: str = "scene-x") -> Event:
    start = 1_800_000_000.0 + 10.0 * i
    snapshots = {"actor": b"\xff\xd8jpeg\xff\xd9"}
    return Event(camera_id, EventType.CARD_POSTING, start, start + 1, 0.9, i, (0, 0, 1, 1), "shutter", start + 2,
                 snapshots=snapshots)  # fmt: skip


def count(engine: Engine, table: type = EventRow) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def shard_events(engine: Engine, tmp_path: Path) -> ShardEvents:
    spool = EventSpool(tmp_path / "spool" / "shard-000.sqlite", 100)
    sink = DurableEventSink(EventRepository(engine), spool, SystemClock(), SinkLimits(retry_min_s=0.1, retry_max_s=0.5))
    return ShardEvents(Recorder(IncidentsSettings(), tmp_path / "data", SystemClock()), sink, lambda _id: None)


def test_events_wait_in_the_spool_while_the_database_refuses_them_then_are_stored_once(tmp_path: Path) -> None:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'later.db'}")  # no tables yet: every insert fails
    events = shard_events(engine, tmp_path)
    events.sink.start()
    try:
        for i in range(5):
            events.submit(visit(i))
        wait_for(lambda: events.health().spooled == 5 and not events.health().database_up, 10, "five spooled")
        migrate(engine)  # the database is back
        wait_for(lambda: events.health().spooled == 0, 15, "the spool replayed")
        assert count(engine) == 5 and count(engine, FeedRow) == 5
        assert events.health().stored == 5 and events.health().dropped == 0
        media = sorted(p.name for p in (tmp_path / "data").rglob("actor.jpg"))
        assert len(media) == 5, "each event's snapshot written beside it"
    finally:
        events.sink.close()
        engine.dispose()


def test_a_second_report_of_a_stored_visit_by_another_shard_writes_nothing(engine: Engine, tmp_path: Path) -> None:
    first, second = shard_events(engine, tmp_path / "a"), shard_events(engine, tmp_path / "b")
    first.sink.start()
    second.sink.start()
    try:
        first.submit(visit(1))
        wait_for(lambda: first.health().stored == 1, 10, "stored by the first shard")
        second.submit(visit(1))  # the same visit, seen by the replacement of a partitioned shard (another id)
        wait_for(lambda: second.health().duplicates == 1, 10, "recognised by the second")
        assert count(engine) == 1 and count(engine, FeedRow) == 1
    finally:
        first.sink.close()
        second.sink.close()
