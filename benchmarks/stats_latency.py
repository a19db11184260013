"""``GET /api/stats`` latency over a year of events on PostgreSQL, before and after the case-analysis index,
printed side by side in one table.

Generates ~500k events for 1,204 cameras in 40 grids over the year before now, in time order as a running
service stores them, a fifth of them joined in incidents of one to three events (bulk COPY into a schema of its
own on the test PostgreSQL server, VACUUM ANALYZEd, dropped afterwards). Then the fresh writes of a working day
that no vacuum has seen yet: a day of new events and operators' verdicts on 2 % of the last month's. Then it
serves the real app on a loopback uvicorn port (admin API key, the real authenticator) and times N calls of
``GET /api/stats`` for a 30-day and a 182-day period (each also reads the period before it: the 182-day one
reads the whole year): "before" without the index ``ix_events_stats`` and the table's autovacuum settings
(main before migration 0013), "after" with them, built on the same data as the migration builds them on an
existing database. Heavy: run it under ``flock /tmp/shopwatch-bench.lock nice -n 5``.

    python benchmarks/stats_latency.py [--events 500000] [--requests 30]
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
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from shopwatch.api.app import create_app  # noqa: E402
from shopwatch.api.server import ApiServer  # noqa: E402
from shopwatch.api.services import Services  # noqa: E402
from shopwatch.auth.audit import AuditTrail  # noqa: E402
from shopwatch.auth.login import LoginService  # noqa: E402
from shopwatch.core.access_config import AuthSettings  # noqa: E402
from shopwatch.core.clock import SystemClock  # noqa: E402
from shopwatch.core.config import Settings  # noqa: E402
from shopwatch.core.incidents_config import IncidentsSettings  # noqa: E402
from shopwatch.core.principal import Role  # noqa: E402
from shopwatch.incidents.build import build_incidents  # noqa: E402
from shopwatch.store.accounts import AccountRepository  # noqa: E402
from shopwatch.store.audit import AuditRepository  # noqa: E402
from shopwatch.store.db import create_engine_for, migrate  # noqa: E402
from tests.api.fakes import FakeFleet, make_camera  # noqa: E402

MIGRATION = importlib.import_module("shopwatch.store.migrations.versions.v0013_event_stats_index")
AUTOVACUUM: dict[str, str] = MIGRATION.AUTOVACUUM
INDEX_COLUMNS: list[str] = MIGRATION.COLUMNS
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
    """A working day no vacuum has seen: a day of new events (after the last one stored) and operators' verdicts
    on 2 % of the last 30 days' events. Returns (events added, verdicts)."""
    rng = random.Random(16)
    with engine.begin() as conn:
        added = conn.execute(
            text(
                f"INSERT INTO events ({COLUMNS}) SELECT 'fresh' || substr(id, 6), "
                "'fresh' || substr(event_key, 6), camera_id, grid, type, 'new', "
                "start + interval '1 day', \"end\" + interval '1 day', detected_at, stored_at, confidence, zone, "
                "detail, snapshots, clip, media_bytes, teams, escalate_at, escalated_at, NULL, deterrence, "
                "updated_at FROM events WHERE start >= :day_ago - interval '1 day' AND start < :day_ago"
            ),
            {"day_ago": now - timedelta(days=1)},
        )
        month = conn.execute(
            text("SELECT id FROM events WHERE start >= :since ORDER BY id"), {"since": now - timedelta(days=30)}
        ).scalars().all()  # fmt: skip
        judged = rng.sample(list(month), len(month) // 50)
        for n, event_id in enumerate(judged):
            verdict = "false_positive" if n % 3 == 0 else "resolved"
            conn.execute(text("UPDATE events SET status = :s WHERE id = :id"), {"s": verdict, "id": event_id})
    return added.rowcount, len(judged)


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


def without_index(engine: Engine) -> None:
    """Back to main before migration 0013: no ``ix_events_stats``, PostgreSQL's default autovacuum."""
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_events_stats"))
        conn.execute(text(f"ALTER TABLE events RESET ({', '.join(AUTOVACUUM)})"))


def with_index(engine: Engine) -> float:
    """What migration 0013 does on an existing database; returns the seconds it took."""
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text(f"CREATE INDEX ix_events_stats ON events ({', '.join(INDEX_COLUMNS)})"))
        settings = ", ".join(f"{name} = {value}" for name, value in AUTOVACUUM.items())
        conn.execute(text(f"ALTER TABLE events SET ({settings})"))
    return time.perf_counter() - started


async def time_stats(engine: Engine, requests: int, periods: list[int], now: datetime) -> list[tuple[int, list[float]]]:
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
                base_url=server.url, timeout=60, headers={"Authorization": f"Bearer {key}"}
            ) as client:
                for days in periods:
                    params = {"from": (now - timedelta(days=days)).isoformat(), "to": now.isoformat()}
                    took = []
                    for i in range(requests + 3):  # the first few warm up; not timed
                        started = time.perf_counter()
                        response = await client.get("/api/stats", params=params)
                        elapsed = (time.perf_counter() - started) * 1000
                        response.raise_for_status()
                        if i >= 3:
                            took.append(elapsed)
                    total = response.json()["total"]
                    print(f"# {days} days: {total['current']['events']} events, previous {total['previous']['events']}")
                    results.append((days, took))
        finally:
            server.stop()
            await serving
            await incidents.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=30)
    args = parser.parse_args()
    url = os.environ.get("SHOPWATCH_TEST_POSTGRES_URL") or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    admin = create_engine(url, poolclass=NullPool)
    schema = f"sw_bench_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        schema_url = admin.url.update_query_dict({"options": f"-csearch_path={schema}"})
        engine = create_engine_for(schema_url.render_as_string(hide_password=False))
        migrate(engine)
        without_index(engine)
        now = datetime.now(UTC).replace(microsecond=0)
        fill_s = fill(engine, args.events, now)
        added, judged = fresh_writes(engine, now)
        print(f"# {args.events} events, {CAMERAS} cameras: COPY + VACUUM ANALYZE {fill_s:.1f} s; then {added} new "
              f"events and {judged} verdicts, not vacuumed; load {os.getloadavg()}")  # fmt: skip
        print(f"# before: {table_state(engine)}")
        before = asyncio.run(time_stats(engine, args.requests, [30, 182], now))
        index_s = with_index(engine)
        print(f"# index built in {index_s:.1f} s; after: {table_state(engine)}")
        after = asyncio.run(time_stats(engine, args.requests, [30, 182], now))
        print(f"# after the timing: {table_state(engine)}")
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print("| period (+ previous) | calls | before p50 ms | before p95 ms | after p50 ms | after p95 ms | after max ms "
          "| p95 after/before |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for (days, old), (_, new) in zip(before, after, strict=True):
        q_old = statistics.quantiles(old, n=20, method="inclusive")
        q_new = statistics.quantiles(new, n=20, method="inclusive")
        print(
            f"| {days} d (+{days} d) | {len(new)} | {statistics.median(old):.0f} | {q_old[18]:.0f} "
            f"| {statistics.median(new):.0f} | {q_new[18]:.0f} | {max(new):.0f} | {q_new[18] / q_old[18]:.2f} |"
        )
    print(json.dumps({"load_after": os.getloadavg()}))


if __name__ == "__main__":
    main()
