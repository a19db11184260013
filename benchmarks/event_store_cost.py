"""What storing each event once costs: events per second into SQLite and PostgreSQL, before and after, one table.

- before: the bulk insert ``EventRepository.add_many`` did until migration 0012 (one multi-row INSERT of the
  events, their feed entries and deliveries; no duplicate check), reproduced here on today's schema;
- after: ``add_many`` through ``store.event_once`` (per event: the lock on PostgreSQL, the look in three key
  buckets, ``INSERT ... ON CONFLICT DO NOTHING``, its feed entry and deliveries);
- through the spool: ``DurableEventSink`` with the database up (each event appended to the fsynced spool file,
  replayed, deleted), one event at a time.

Each event is a distinct visit with two deliveries, over 40 cameras. Run it under the bench lock:
``flock /tmp/shopwatch-bench.lock nice -n 5 python benchmarks/event_store_cost.py``.

    python benchmarks/event_store_cost.py [--events 1280] [--singles 200]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import Engine, insert, make_url  # noqa: E402
from sqlalchemy.exc import OperationalError  # noqa: E402

from benchmarks._pg_scratch import POSTGRES_URL, scratch_engine  # noqa: E402
from shopwatch.core.clock import SystemClock  # noqa: E402
from shopwatch.core.incident_records import NewDelivery, NewEvent  # noqa: E402
from shopwatch.store.db import create_engine_for, migrate, write_transaction  # noqa: E402
from shopwatch.store.durable_sink import DurableEventSink  # noqa: E402
from shopwatch.store.event_once import key_of  # noqa: E402
from shopwatch.store.events import EventRepository  # noqa: E402
from shopwatch.store.incident_tables import EventRow, FeedRow  # noqa: E402
from shopwatch.store.outbox import insert_deliveries  # noqa: E402
from shopwatch.store.spool import EventSpool  # noqa: E402
from tests.store.test_events import make_event  # noqa: E402

BATCH = 64


def events(count: int, first: int) -> list[NewEvent]:
    base = make_event(0)
    out = []
    for n in range(first, first + count):
        start = datetime(2026, 12, 1, tzinfo=UTC) + timedelta(seconds=10 * n)
        event = replace(base, id=uuid.uuid4().hex, camera_id=f"cam-{n % 40:04d}", start=start, stored_at=start)
        deliveries = [
            NewDelivery(uuid.uuid4().hex, event.id, "alert", "north", "mqtt", "t/x", {"n": n}, start) for _ in (0, 1)
        ]
        out.append(NewEvent(event, deliveries))
    return out


def bulk_add(engine: Engine, items: Sequence[NewEvent]) -> None:
    """``add_many`` before 0012 (no incidents in this workload), with the key the schema now requires."""
    with write_transaction(engine) as conn:
        rows = [{**{f: getattr(i.event, f) for f in i.event.__slots__}, "event_key": key_of(i.event)} for i in items]
        conn.execute(insert(EventRow), rows)
        created = [{"event_id": i.event.id, "kind": "created", "at": i.event.stored_at} for i in items]
        conn.execute(insert(FeedRow).returning(FeedRow.seq, sort_by_parameter_order=True), created).scalars().all()
        insert_deliveries(conn, [d for i in items for d in i.deliveries])


def rate(store: Callable[[Sequence[NewEvent]], object], items: list[NewEvent], per: int) -> float:
    started = time.perf_counter()
    for k in range(0, len(items), per):
        store(items[k : k + per])
    return len(items) / (time.perf_counter() - started)


def through_spool(engine: Engine, items: list[NewEvent], folder: Path) -> float:
    sink = DurableEventSink(EventRepository(engine), EventSpool(folder / "spool.db", 10_000), SystemClock())
    started = time.perf_counter()
    for item in items:
        sink.submit(item)
        sink.step()
    took = time.perf_counter() - started
    assert sink.health().stored == len(items), sink.health()
    return len(items) / took


@contextmanager
def databases(folder: Path) -> Iterator[tuple[str, Engine]]:
    engine = create_engine_for(f"sqlite:///{folder / 'bench.db'}")
    migrate(engine)
    yield "SQLite", engine
    engine.dispose()


@contextmanager
def postgres() -> Iterator[Engine | None]:
    """A migrated scratch schema on the test PostgreSQL server, or None (the SQLite rows only) when none answers."""
    with ExitStack() as stack:
        try:
            engine: Engine | None = stack.enter_context(scratch_engine(POSTGRES_URL))
        except OperationalError as exc:
            where = make_url(POSTGRES_URL).render_as_string(hide_password=True)
            print(f"# PostgreSQL at {where} unreachable ({type(exc).__name__}): SQLite only")
            engine = None
        yield engine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1280, help=f"events stored in batches of {BATCH}")
    parser.add_argument("--singles", type=int, default=200, help="events stored one per transaction")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        with databases(Path(tmp)) as (name, sqlite), postgres() as pg:
            for label, engine in ((name, sqlite), ("PostgreSQL", pg)):
                if engine is None:
                    continue
                repo = EventRepository(engine)
                n = 0

                def batch(count: int) -> list[NewEvent]:
                    nonlocal n
                    n += count
                    return events(count, n - count)

                workloads = ((f"batches of {BATCH}", args.events, BATCH), ("one at a time", args.singles, 1))
                for workload, count, per in workloads:
                    before = rate(lambda items, e=engine: bulk_add(e, items), batch(count), per)
                    after = rate(repo.add_many, batch(count), per)
                    rows.append((label, workload, before, after))
                spooled = through_spool(engine, batch(args.singles), Path(tmp) / label)
                # this row's "before" is the direct ``add_many`` one at a time (the row above's "after")
                rows.append((label, "one at a time: through the spool vs direct", rows[-1][3], spooled))
    print("| database | workload | before: bulk insert (events/s) | after: stored once (events/s) | after / before |")
    print("|---|---|---|---|---|")
    for label, workload, before, after in rows:
        print(f"| {label} | {workload} | {before:,.0f} | {after:,.0f} | {after / before:.2f} |")


if __name__ == "__main__":
    main()
