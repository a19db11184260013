"""Events stored once (store.event_once) on SQLite and PostgreSQL: two reports of one visit from two readers of
a camera, their starts up to a couple of seconds apart (a bucket edge between them or not), are stored once with
no second feed entry, incident change or alert; different visits are all stored; two writers racing store each
visit once; the migration gives existing events their key, and goes down and up again."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, text

from shopwatch.core.incident_records import Incident, NewEvent, StoredEvent
from shopwatch.store.db import alembic_config, migrate, write_transaction
from shopwatch.store.event_once import DUPLICATE_WINDOW_S, event_key, insert_event_once
from shopwatch.store.events import EventQuery, EventRepository
from shopwatch.store.outbox import DeliveryQuery, OutboxRepository
from tests.store.test_events import delivery, make_event

# A bucket edge: the key's buckets are DUPLICATE_WINDOW_S wide, counted from the epoch.
EDGE = datetime.fromtimestamp(1_800_000_000 // DUPLICATE_WINDOW_S * DUPLICATE_WINDOW_S + 300 * DUPLICATE_WINDOW_S, UTC)


def report(
    event_id: str, start: datetime, *, camera: str = "cam-1", zone: str = "door", type_: str = "card_posting"
) -> StoredEvent:
    """One reader's report of a visit beginning at ``start``."""
    base = make_event(1, camera=camera, type_=type_)
    return replace(base, id=event_id, start=start, end=start + timedelta(seconds=5), zone=zone)


def all_ids(events: EventRepository) -> list[str]:
    return sorted(e.id for e in events.query(EventQuery(limit=1000)).events)


def test_the_key_is_the_same_within_a_bucket_and_names_camera_type_and_zone() -> None:
    inside = EDGE + timedelta(seconds=0.1)
    assert event_key("cam-1", "card_posting", "门口", inside) == event_key("cam-1", "card_posting", "门口", EDGE)
    assert len(event_key("cam-1", "card_posting", "门口", inside)) == 32
    others = {
        event_key("cam-2", "card_posting", "门口", EDGE),
        event_key("cam-1", "loitering", "门口", EDGE),
        event_key("cam-1", "card_posting", "窗", EDGE),
        event_key("cam-1", "card_posting", "门口", EDGE - timedelta(seconds=0.1)),
    }
    assert len(others) == 4 and event_key("cam-1", "card_posting", "门口", EDGE) not in others


@pytest.mark.parametrize(
    ("first_s", "second_s"),
    [
        (0.2, 1.1),  # one bucket
        (-0.4, 0.5),  # a bucket edge between them
        (1.9, -0.9),  # the later reader reports the earlier start, across the edge
        (-2.5, 0.4),  # 2.9 s apart, across the edge
    ],
)
def test_a_second_report_of_a_visit_writes_nothing(engine: Engine, first_s: float, second_s: float) -> None:
    events, outbox = EventRepository(engine), OutboxRepository(engine)
    first = report("old-shard", EDGE + timedelta(seconds=first_s))
    second = report("new-shard", EDGE + timedelta(seconds=second_s))
    stored = events.add(first, [delivery(first)])
    incident = Incident("inc1", "card_posting", second.start, second.start, {"events": [second.id]})
    again = events.add(replace(second, incident_id="inc1"), [delivery(second)], incident)

    assert stored.duplicates == [] and again.duplicates == ["new-shard"] and again.seqs == []
    assert all_ids(events) == ["old-shard"]
    assert [d.id for d in outbox.find(DeliveryQuery())] == ["d-old-shard-0"]  # one alert, never two
    assert [f.event.id for f in events.feed_since(0)] == ["old-shard"]
    assert events.incident("inc1") is None


@pytest.mark.parametrize(
    ("start_s", "other"),
    [
        (DUPLICATE_WINDOW_S, {}),  # a window apart: another visit
        (0.5, {"zone": "window"}),
        (0.5, {"camera": "cam-2"}),
        (0.5, {"type_": "loitering"}),
    ],
)
def test_other_visits_are_all_stored(engine: Engine, start_s: float, other: dict[str, str]) -> None:
    events = EventRepository(engine)
    first = report("a", EDGE)
    second = report("b", EDGE + timedelta(seconds=start_s), **other)
    assert events.add(first, []).duplicates == [] and events.add(second, []).duplicates == []
    assert all_ids(events) == ["a", "b"]


def test_duplicates_within_one_batch_and_insert_event_once(engine: Engine) -> None:
    events = EventRepository(engine)
    batch = [report("a", EDGE), report("a2", EDGE + timedelta(seconds=1)), report("b", EDGE + timedelta(seconds=10))]
    added = events.add_many([NewEvent(e, [delivery(e)]) for e in batch])
    assert added.duplicates == ["a2"] and len(added.seqs) == 2
    assert [item.event.id for item in added.stored([NewEvent(e, []) for e in batch])] == ["a", "b"]
    with write_transaction(engine) as conn:
        assert insert_event_once(conn, NewEvent(report("c", EDGE + timedelta(seconds=20)), [])) is True
        assert insert_event_once(conn, NewEvent(report("c2", EDGE + timedelta(seconds=21)), [])) is False
        assert insert_event_once(conn, NewEvent(report("c", EDGE + timedelta(seconds=20)), [])) is False  # same id
    assert all_ids(events) == ["a", "b", "c"]


def test_two_writers_racing_store_each_visit_once(engine: Engine) -> None:
    """Each visit reported by two threads at once (their own connections), starts 1 s apart across a bucket
    edge: without the lock on (camera, type, zone) both would miss the other's uncommitted row."""
    events = EventRepository(engine)
    visits = 12
    barrier = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def writer(name: str, offset_s: float) -> None:
        try:
            for n in range(visits):
                start = EDGE + timedelta(seconds=60 * n + offset_s)
                event = report(f"{name}-{n}", start, camera=f"cam-{n % 3}")
                barrier.wait()
                events.add(event, [delivery(event)])
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=writer, args=("x", -0.5)), threading.Thread(target=writer, args=("y", 0.5))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    stored = events.query(EventQuery(limit=1000)).events
    assert len(stored) == visits
    assert sorted(int(e.id.split("-")[1]) for e in stored) == list(range(visits))
    assert len(OutboxRepository(engine).find(DeliveryQuery(limit=1000))) == visits


def _insert_old_event(engine: Engine, event: StoredEvent) -> None:
    """A row as revision 0011 wrote it (no key)."""
    with engine.begin() as conn:
        conn.execute(
            text(
                'INSERT INTO events (id, camera_id, grid, type, status, start, "end", detected_at, stored_at, '
                "confidence, zone, detail, snapshots, clip, media_bytes, teams, updated_at) VALUES (:id, :camera_id, "
                ":grid, :type, 'new', :start, :start, :start, :start, 0.8, :zone, '{}', '{}', NULL, 0, '[]', :start)"
            ),
            {
                "id": event.id,
                "camera_id": event.camera_id,
                "grid": event.grid,
                "type": event.type,
                "zone": event.zone,
                "start": event.start if engine.dialect.name == "postgresql" else event.start.replace(tzinfo=None),
            },
        )


def test_the_migration_keys_existing_events_and_goes_down_and_up(engine: Engine) -> None:
    cfg = alembic_config()

    def to(revision: str, up: bool) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.upgrade if up else command.downgrade)(cfg, revision)

    to("0011", up=False)
    assert "shard_assignments" not in inspect(engine).get_table_names()
    assert "event_key" not in {c["name"] for c in inspect(engine).get_columns("events")}
    # Stored before: two events of one camera, type and zone in one bucket (kept, each with its own key), another.
    old = [report("e1", EDGE), report("e2", EDGE + timedelta(seconds=1)), report("e3", EDGE + timedelta(seconds=30))]
    for event in old:
        _insert_old_event(engine, event)
    migrate(engine)
    with engine.connect() as conn:
        keys = dict(conn.execute(text("SELECT id, event_key FROM events ORDER BY id")).all())
    assert keys["e1"] == event_key("cam-1", "card_posting", "door", EDGE)
    assert keys["e3"] == event_key("cam-1", "card_posting", "door", EDGE + timedelta(seconds=30))
    assert len(set(keys.values())) == 3
    # The key works for what comes next: a late second report of e3 is a duplicate.
    events = EventRepository(engine)
    assert events.add(report("e3-again", EDGE + timedelta(seconds=31)), []).duplicates == ["e3-again"]
    to("0011", up=False)
    assert "event_key" not in {c["name"] for c in inspect(engine).get_columns("events")}
    migrate(engine)
    assert "shard_assignments" in inspect(engine).get_table_names()


def test_a_batch_larger_than_one_query_finds_its_duplicates_too(engine: Engine) -> None:
    """200 visits (600 keys: more than one IN list takes), one of them reported again inside the batch and one
    stored before."""
    events = EventRepository(engine)
    events.add(report("stored-before", EDGE + timedelta(seconds=10 * 140 + 1), camera="cam-0"), [])
    batch = [report(f"v{n:03d}", EDGE + timedelta(seconds=10 * n), camera=f"cam-{n % 7}") for n in range(200)]
    batch.append(report("again", EDGE + timedelta(seconds=10 * 42 + 2), camera=f"cam-{42 % 7}"))
    added = events.add_many([NewEvent(e, []) for e in batch])
    assert added.duplicates == ["v140", "again"]  # v140 (cam-0) repeats the one stored before
    assert len(all_ids(events)) == 1 + 199
