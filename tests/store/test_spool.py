"""The local spool and the durable sink a shard writes events through.

The spool file: order, bounds (oldest dropped and counted, across a restart), events read back as written. The
sink: with the database up an event is stored at once; with PostgreSQL cut off behind a proxy (the shared server
keeps running) events are spooled, retried after a backoff on the injected clock, and every one arrives exactly
once when the database is back, also after the writer restarted, and also when a spooled event's commit had
reached the database before; an event the database refuses for good is taken out and counted."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url

from shopwatch.core.clock import ManualClock, SystemClock
from shopwatch.core.incident_records import Incident, NewEvent
from shopwatch.store.db import create_engine_for, migrate
from shopwatch.store.durable_sink import DurableEventSink, SinkLimits
from shopwatch.store.events import EventQuery, EventRepository
from shopwatch.store.outbox import DeliveryQuery, OutboxRepository
from shopwatch.store.spool import EventSpool
from tests.store.db_fixtures import _postgres_schema_url
from tests.store.tcp_proxy import CuttableProxy
from tests.store.test_events import T0, delivery, make_event


def item(n: int, camera: str = "cam-1") -> NewEvent:
    """Visit ``n``: a minute after visit ``n - 1``, with one alert."""
    event = replace(make_event(0, camera=camera), id=f"ev{n:04d}", start=T0 + timedelta(minutes=n))
    return NewEvent(event, [delivery(event)])


def stored_ids(engine: Engine) -> list[str]:
    return sorted(e.id for e in EventRepository(engine).query(EventQuery(limit=10_000)).events)


def wait_for(check: Callable[[], bool], timeout_s: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.02)


# -- the spool file ------------------------------------------------------------------------------------------


def test_spool_keeps_order_and_bounds_and_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "spool" / "events.db"
    spool = EventSpool(path, capacity=5)
    incident = Incident("inc1", "card_posting", T0, T0 + timedelta(seconds=9), {"events": ["ev0001"], "note": "门口"})
    first = NewEvent(replace(item(1).event, incident_id="inc1"), item(1).deliveries, incident)
    assert spool.append([first, item(2), item(3)]) == 0
    assert spool.append([item(n) for n in range(4, 8)]) == 2  # 7 > 5: the two oldest go
    assert len(spool) == 5 and spool.dropped == 2
    spool.close()

    spool = EventSpool(path, capacity=5)  # the process restarted
    head = spool.head(10)
    assert [i.event.id for _, i in head] == ["ev0003", "ev0004", "ev0005", "ev0006", "ev0007"]
    assert head[0][1] == item(3)  # read back equal, times with their zone
    spool.remove([seq for seq, _ in head[:2]])
    assert [i.event.id for _, i in spool.head(10)] == ["ev0005", "ev0006", "ev0007"] and spool.dropped == 2
    spool.append([first])
    assert spool.head(10)[-1][1] == first  # incident and deliveries too
    spool.close()
    assert path.stat().st_mode & 0o077 == 0


def test_a_damaged_row_is_dropped_and_counted_not_stuck(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    spool = EventSpool(path, capacity=10)
    spool.append([item(1), item(2)])
    with sqlite3.connect(path) as raw:
        raw.execute("UPDATE spool SET body = '{\"event\": 1}' WHERE event_id = 'ev0001'")
    assert [i.event.id for _, i in spool.head(10)] == ["ev0002"]
    assert len(spool) == 1 and spool.dropped == 1
    spool.close()


# -- the sink with the database up ---------------------------------------------------------------------------


def test_with_the_database_up_events_are_stored_at_once(engine: Engine, tmp_path: Path) -> None:
    spool = EventSpool(tmp_path / "spool.db", capacity=100)
    sink = DurableEventSink(EventRepository(engine), spool, ManualClock())
    assert all(sink.submit(item(n)) for n in range(3))
    sink.step()
    assert stored_ids(engine) == ["ev0000", "ev0001", "ev0002"]
    assert len(OutboxRepository(engine).find(DeliveryQuery())) == 3
    health = sink.health()
    assert (health.database_up, health.queued, health.spooled, health.stored, health.dropped) == (True, 0, 0, 3, 0)
    sink.submit(replace(item(9), event=replace(item(9).event, id="other-reader", start=item(2).event.start)))
    sink.step()  # another reader's report of visit 2
    assert sink.health().duplicates == 1 and len(stored_ids(engine)) == 3
    spool.close()


def test_a_full_queue_drops_the_oldest_and_counts_it(engine: Engine, tmp_path: Path) -> None:
    spool = EventSpool(tmp_path / "spool.db", capacity=100)
    sink = DurableEventSink(EventRepository(engine), spool, ManualClock(), SinkLimits(queue_size=2))
    assert [sink.submit(item(n)) for n in range(4)] == [True, True, False, False]
    sink.step()
    assert stored_ids(engine) == ["ev0002", "ev0003"] and sink.health().dropped == 2
    spool.close()


# -- the sink with PostgreSQL cut off ------------------------------------------------------------------------


@pytest.fixture
def postgres_behind_proxy(postgres_admin: Engine) -> Iterator[tuple[Engine, Engine, CuttableProxy]]:
    """A migrated schema of its own, an engine straight to it, and one through a proxy that can be cut."""
    for url in _postgres_schema_url(postgres_admin):
        direct = create_engine_for(url)
        migrate(direct)
        target = make_url(url)
        proxy = CuttableProxy(target.host or "127.0.0.1", target.port or 5432).start()
        via = target.set(host="127.0.0.1", port=proxy.port).update_query_dict({"connect_timeout": "2"})
        proxied = create_engine_for(via.render_as_string(hide_password=False))
        try:
            yield direct, proxied, proxy
        finally:
            proxied.dispose()
            proxy.close()
            direct.dispose()


@pytest.mark.postgres
def test_events_spooled_while_the_database_is_away_arrive_exactly_once(
    postgres_behind_proxy: tuple[Engine, Engine, CuttableProxy], tmp_path: Path
) -> None:
    direct, proxied, proxy = postgres_behind_proxy
    clock = ManualClock()
    path = tmp_path / "spool.db"
    limits = SinkLimits(batch=4, retry_min_s=1.0, retry_max_s=8.0)
    sink = DurableEventSink(EventRepository(proxied), EventSpool(path, 100), clock, limits, jitter=lambda: 1.0)
    sink.submit(item(0))
    sink.step()
    assert stored_ids(direct) == ["ev0000"]

    proxy.cut()
    # One visit's commit reached the database but its answer never came back: it is in the spool and stored.
    EventRepository(direct).add_many([item(3)])
    for n in range(1, 11):
        sink.submit(item(n))
    sink.step()
    health = sink.health()
    assert (health.database_up, health.spooled, health.queued) == (False, 10, 0)
    assert health.last_error and "password" not in health.last_error
    assert sink.next_retry_in() == 1.0
    clock.advance(0.5)
    before = proxy.connections
    sink.step()  # backing off: no attempt
    assert proxy.connections == before and sink.health().spooled == 10
    clock.advance(0.5)
    sink.step()  # tried, still away: the backoff doubles
    assert sink.next_retry_in() == 2.0

    # The writer restarts while the database is still away: the spool file is all it has.
    sink.submit(item(11))
    sink.close()
    sink = DurableEventSink(EventRepository(proxied), EventSpool(path, 100), clock, limits, jitter=lambda: 1.0)
    proxy.restore()
    sink.step()
    assert stored_ids(direct) == [f"ev{n:04d}" for n in range(12)]
    health = sink.health()
    assert (health.database_up, health.spooled, health.stored, health.duplicates) == (True, 0, 10, 1)
    deliveries = OutboxRepository(direct).find(DeliveryQuery(limit=100))
    assert sorted(d.event_id for d in deliveries) == [f"ev{n:04d}" for n in range(12)]  # one alert each


@pytest.mark.postgres
def test_the_writer_thread_replays_when_the_database_is_back(
    postgres_behind_proxy: tuple[Engine, Engine, CuttableProxy], tmp_path: Path
) -> None:
    direct, proxied, proxy = postgres_behind_proxy
    limits = SinkLimits(retry_min_s=0.05, retry_max_s=0.2)
    sink = DurableEventSink(EventRepository(proxied), EventSpool(tmp_path / "spool.db", 100), SystemClock(), limits)
    sink.start()
    try:
        proxy.cut()
        for n in range(20):
            sink.submit(item(n, camera=f"cam-{n % 4}"))
        wait_for(lambda: sink.health().spooled == 20 and not sink.health().database_up, what="20 events spooled")
        proxy.restore()
        wait_for(lambda: sink.health().spooled == 0, what="the spool replayed")
    finally:
        sink.close()
    assert len(stored_ids(direct)) == 20 and sink.health().stored == 20


@pytest.mark.postgres
def test_an_event_the_database_refuses_is_taken_out_and_counted(
    postgres_behind_proxy: tuple[Engine, Engine, CuttableProxy], tmp_path: Path
) -> None:
    direct, proxied, _ = postgres_behind_proxy
    sink = DurableEventSink(EventRepository(proxied), EventSpool(tmp_path / "spool.db", 100), ManualClock())
    bad = item(2)
    bad = NewEvent(replace(bad.event, camera_id="c" * 70), [])  # longer than the column: refused for good
    for one in (item(1), bad, item(3)):
        sink.submit(one)
    sink.step()
    assert stored_ids(direct) == ["ev0001", "ev0003"]
    health = sink.health()
    assert (health.refused, health.spooled, health.stored, health.database_up) == (1, 0, 2, True)
