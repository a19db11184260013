"""``GET /api/stats`` latency over a year of events on PostgreSQL: counted from the events ("raw", the query
before the summary tables) and from the summary tables with the events at the edges ("rollup"), side by side in
one table; and what keeping the summary tables costs the event inserts.

Generates ~500k events for 1,204 cameras in 40 grids over the year before now, in time order as a running
service stores them, a fifth of them joined in incidents of one to three events (bulk COPY into a schema of its
own on the test PostgreSQL server at migration 0013, VACUUM ANALYZEd, then migrations 0014 and 0015 build and
fill the summary tables as they do on an existing database; the schema is dropped afterwards). Then the fresh
writes of a working day that no vacuum has seen yet, through the service's own writes (so the summary tables
follow them): a day of new events (``add_many``, batches of 64) and operators' verdicts on 2 % of the last month's
(``set_status``). Then it serves the real app on a loopback uvicorn port (admin API key, the real authenticator)
and times N calls of ``GET /api/stats`` for 30-, 182- and 365-day periods (each also reads the period before
it), raw and rollup alternating per period on the same server and data, and checks that both answer the same.
Last, events per second stored by ``add_many`` without and with the summary upkeep (the same code with the
upkeep call made a no-op), on SQLite and PostgreSQL, the two alternating. Heavy: run it under
``flock /tmp/shopwatch-bench.lock nice -n 5``.

    python benchmarks/stats_latency.py [--events 500000] [--requests 30] [--inserts 1280]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from alembic import command  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from benchmarks._pg_scratch import scratch_schema  # noqa: E402
from shopwatch.api.app import create_app  # noqa: E402
from shopwatch.api.server import ApiServer  # noqa: E402
from shopwatch.api.services import Services  # noqa: E402
from shopwatch.auth.audit import AuditTrail  # noqa: E402
from shopwatch.auth.login import LoginService  # noqa: E402
from shopwatch.core.access_config import AuthSettings  # noqa: E402
from shopwatch.core.clock import SystemClock  # noqa: E402
from shopwatch.core.config import Settings  # noqa: E402
from shopwatch.core.incident_records import NewEvent, Transition  # noqa: E402
from shopwatch.core.incidents_config import IncidentsSettings  # noqa: E402
from shopwatch.core.principal import Role  # noqa: E402
from shopwatch.incidents.build import build_incidents  # noqa: E402
from shopwatch.store import event_once  # noqa: E402
from shopwatch.store import events as event_store  # noqa: E402
from shopwatch.store.accounts import AccountRepository  # noqa: E402
from shopwatch.store.audit import AuditRepository  # noqa: E402
from shopwatch.store.db import alembic_config, create_engine_for, migrate, write_options  # noqa: E402
from shopwatch.store.event_stats import event_stats, raw_event_stats  # noqa: E402
from shopwatch.store.events import EventQuery, EventRepository  # noqa: E402
from shopwatch.store.stats_upkeep import count_events  # noqa: E402
from tests.api.fakes import FakeFleet, make_camera  # noqa: E402

COST = importlib.import_module("benchmarks.event_store_cost")
INCIDENT_SHARE = 0.2  # about this share of the events belong to an incident
CAMERAS = 1204
GRIDS = 40
TYPES = [("card_posting", 0.6), ("loitering", 0.25), ("intrusion", 0.15)]
STATUSES = [("new", 0.3), ("acknowledged", 0.2), ("resolved", 0.3), ("dispatched", 0.05), ("false_positive", 0.15)]
COLUMNS = (  # event_key: a bulk-loaded event's own (no duplicate check; see store/event_once.py)
    'id, event_key, camera_id, grid, type, status, start, "end", detected_at, stored_at, confidence, zone, detail, '
    "snapshots, clip, media_bytes, teams, escalate_at, escalated_at, incident_id, deterrence, updated_at"
)


def _events(count: int, now: datetime) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    """(events, incidents) over the year before ``now`` less a day, oldest first; seeded, so every run is alike."""
    rng = random.Random(15)
    types, type_w = zip(*TYPES, strict=True)
    statuses, status_w = zip(*STATUSES, strict=True)
    starts = sorted(now - timedelta(days=1, seconds=rng.uniform(0, 364 * 86400)) for _ in range(count))
    events: list[tuple[object, ...]] = []
    incidents: list[tuple[object, ...]] = []
    joining = 0  # events still to join the last incident
    for n, start in enumerate(starts):
        camera = rng.randrange(1, CAMERAS + 1)
        type_ = rng.choices(types, type_w)[0]
        if joining == 0 and rng.random() < INCIDENT_SHARE / 2:
            incidents.append((f"inc{n:09d}", type_, start, start + timedelta(minutes=5), "{}"))
            joining = rng.randrange(1, 4)
        incident = incidents[-1][0] if joining else None
        joining = max(0, joining - 1)
        end = start + timedelta(seconds=5)
        events.append((
            f"bench{n:09d}", f"bench{n:027d}", f"cam-{camera:04d}", f"grid-{camera % GRIDS:02d}", type_,
            rng.choices(statuses, status_w)[0], start, end, end, end, 0.8, rng.choice(("wall", "door", "pole")),
            "{}", "{}", None, 0, "[]", None, None, incident, None, end,
        ))  # fmt: skip
    return events, incidents


def fill(engine: Engine, count: int, now: datetime) -> float:
    """``count`` events (and their incidents) by COPY, then VACUUM ANALYZE; returns the seconds it took."""
    events, incidents = _events(count, now)
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy("COPY incidents (id, type, first_at, last_at, summary) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in incidents:
                copy.write_row(row)
        with cursor.copy(f"COPY events ({COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for row in events:
                copy.write_row(row)
        raw.commit()
    finally:
        raw.close()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE events"))
    return time.perf_counter() - started


def fresh_writes(engine: Engine, now: datetime) -> tuple[int, int]:
    """A working day no vacuum has seen, written as the service writes it: a day of new events (a copy of the
    last day's, a day later, in batches of 64) and operators' verdicts on 2 % of the last 30 days' events.
    Returns (events added, verdicts)."""
    rng = random.Random(16)
    repository = EventRepository(engine)
    day_ago = now - timedelta(days=1)
    last_day = repository.query(EventQuery(since=day_ago - timedelta(days=1), until=day_ago, limit=1_000_000)).events
    fresh = [
        NewEvent(replace(e, id="fresh" + e.id[5:], status="new", incident_id=None, start=e.start + timedelta(days=1),
                         end=e.end + timedelta(days=1)), [])
        for e in reversed(last_day)
    ]  # fmt: skip
    for at in range(0, len(fresh), 64):
        repository.add_many(fresh[at : at + 64])
    with engine.connect() as conn:
        month = conn.execute(
            text("SELECT id, status FROM events WHERE start >= :since ORDER BY id"), {"since": now - timedelta(days=30)}
        ).all()  # fmt: skip
    judged = rng.sample(list(month), len(month) // 50)
    for n, (event_id, status) in enumerate(judged):
        verdict = "false_positive" if n % 3 == 0 else "resolved"
        repository.set_status(Transition(event_id, status, verdict, "bench", now, ""))
    return len(fresh), len(judged)


def table_state(engine: Engine) -> str:
    with engine.connect() as conn:
        pages, visible = conn.execute(
            text("SELECT relpages, relallvisible FROM pg_class WHERE relname = 'events' AND relkind = 'r' "
                 "AND relnamespace = current_schema()::regnamespace")
        ).one()  # fmt: skip
        vacuumed = conn.execute(
            text("SELECT last_autovacuum FROM pg_stat_user_tables WHERE relname = 'events' "
                 "AND schemaname = current_schema()")
        ).scalar()  # fmt: skip
    return f"{visible}/{pages} pages all-visible (as of the last vacuum/analyze), last autovacuum {vacuumed}"


def migrate_to(engine: Engine, revision: str) -> float:
    """Upgrade the schema to ``revision`` as ``migrate`` does; returns the seconds it took."""
    started = time.perf_counter()
    cfg = alembic_config()
    with engine.connect() as conn:
        conn = conn.execution_options(**write_options())
        with conn.begin():
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    return time.perf_counter() - started


MODES = {"raw": raw_event_stats, "rollup": event_stats}


async def time_stats(
    engine: Engine, requests: int, periods: list[int], now: datetime
) -> list[tuple[int, dict[str, list[float]], bool]]:
    """Per period: the milliseconds of each timed call in each mode (raw, rollup: the repository's counting
    function swapped between them on one server), and whether both answered the same."""
    configured = [make_camera(i, f"grid-{i % GRIDS:02d}") for i in range(1, CAMERAS + 1)]
    fleet = FakeFleet(configured, [])
    settings = IncidentsSettings.model_validate({"mqtt": {"enabled": False}, "linking": {"enabled": False}})
    auth = LoginService(AccountRepository(engine), AuthSettings(), SystemClock())
    key = auth.accounts.create_key(f"benchmark-{uuid.uuid4().hex[:8]}", Role.ADMIN, None, "benchmark").plaintext
    audit = AuditTrail(AuditRepository(engine), SystemClock())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        incidents = build_incidents(settings, engine, fleet, None, Path(tmp), SystemClock())
        server = ApiServer(
            create_app(Settings(), Services(fleet, auth=auth, audit=audit, incidents=incidents)), "127.0.0.1", 0
        )
        serving = asyncio.create_task(server.serve())
        try:
            async with httpx.AsyncClient(
                base_url=server.url, timeout=120, headers={"Authorization": f"Bearer {key}"}
            ) as client:
                for days in periods:
                    params = {"from": (now - timedelta(days=days)).isoformat(), "to": now.isoformat()}
                    took: dict[str, list[float]] = {}
                    answers = []
                    for mode, counting in MODES.items():
                        event_store.event_stats = counting  # type: ignore[assignment]
                        took[mode] = []
                        for i in range(requests + 3):  # the first few warm up; not timed
                            started = time.perf_counter()
                            response = await client.get("/api/stats", params=params)
                            elapsed = (time.perf_counter() - started) * 1000
                            response.raise_for_status()
                            if i >= 3:
                                took[mode].append(elapsed)
                        answers.append(response.json())
                    now_n, before_n = (answers[-1]["total"][k]["events"] for k in ("current", "previous"))
                    print(f"# {days} days: {now_n} events, previous {before_n}; "
                          f"raw and rollup answers equal: {answers[0] == answers[1]}")  # fmt: skip
                    results.append((days, took, answers[0] == answers[1]))
        finally:
            event_store.event_stats = event_stats
            server.stop()
            await serving
            await incidents.close()
    return results


def insert_rates(inserts: int) -> list[tuple[str, str, float, float]]:
    """(database, workload, events/s without the summary upkeep, with it): ``add_many`` on a fresh schema, the
    upkeep call made a no-op for "without"; without and with alternate in four rounds each."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp, COST.databases(Path(tmp)) as (name, sqlite), COST.postgres() as pg:
        for label, engine in ((name, sqlite), ("PostgreSQL", pg)):
            if engine is None:
                continue
            repository = EventRepository(engine)
            n = 0
            for workload, count, per in ((f"batches of {COST.BATCH}", inserts, COST.BATCH), ("one at a time", 200, 1)):
                rates: dict[bool, list[float]] = {False: [], True: []}
                for _ in range(4):
                    for upkeep in (False, True):
                        event_once.count_events = count_events if upkeep else (lambda *_: None)  # type: ignore[assignment]
                        rates[upkeep].append(COST.rate(repository.add_many, COST.events(count // 4, n), per))
                        n += count // 4
                event_once.count_events = count_events
                rows.append((label, workload, statistics.median(rates[False]), statistics.median(rates[True])))
    return rows


def quantiles(took: list[float]) -> tuple[float, float, float]:
    return statistics.median(took), statistics.quantiles(took, n=20, method="inclusive")[18], max(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--inserts", type=int, default=1280, help="events stored in batches of 64, per mode")
    args = parser.parse_args()
    with scratch_schema() as schema_url:
        engine = create_engine_for(schema_url)
        migrate_to(engine, "0013")  # the events filled as they were, the summary tables filled by their migration
        now = datetime.now(UTC).replace(microsecond=0)
        fill_s = fill(engine, args.events, now)
        summary_s = migrate_to(engine, "head")
        migrate(engine)
        with engine.connect() as conn:
            counted = "SELECT (SELECT count(*) FROM stats_days), (SELECT count(*) FROM stats_camera_months)"
            sizes = conn.execute(text(counted)).one()
        added, judged = fresh_writes(engine, now)
        print(f"# {args.events} events, {CAMERAS} cameras: COPY + VACUUM ANALYZE {fill_s:.1f} s; migrations 0014-0015 "
              f"(summary tables filled: {sizes[0]} day rows, {sizes[1]} camera-month rows) {summary_s:.1f} s; then "
              f"{added} new events and {judged} verdicts, not vacuumed; load {os.getloadavg()}")  # fmt: skip
        print(f"# {table_state(engine)}")
        timed = asyncio.run(time_stats(engine, args.requests, [30, 182, 365], now))
        print(f"# after the timing: {table_state(engine)}; load {os.getloadavg()}")
        engine.dispose()
    inserts = insert_rates(args.inserts)
    print("| period (+ previous) | calls each | raw p50 ms | raw p95 ms | raw max ms | rollup p50 ms | rollup p95 ms "
          "| rollup max ms | p95 rollup/raw | same answer |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for days, took, same in timed:
        raw, rollup = quantiles(took["raw"]), quantiles(took["rollup"])
        ratio = rollup[1] / raw[1]
        print(f"| {days} d (+{days} d) | {len(took['raw'])} | {raw[0]:.0f} | {raw[1]:.0f} | {raw[2]:.0f} "
              f"| {rollup[0]:.0f} | {rollup[1]:.0f} | {rollup[2]:.0f} | {ratio:.2f} | {same} |")  # fmt: skip
    print()
    print("| database | workload | without summary upkeep (events/s) | with it (events/s) | with / without |")
    print("|---|---|---|---|---|")
    for label, workload, without, with_ in inserts:
        print(f"| {label} | {workload} | {without:,.0f} | {with_:,.0f} | {with_ / without:.2f} |")
    print(json.dumps({"load_after": os.getloadavg()}))


if __name__ == "__main__":
    main()
