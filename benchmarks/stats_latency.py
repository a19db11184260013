"""``GET /api/stats`` latency over a year of events on PostgreSQL, printed as one table.

Generates ~500k events for 1,204 cameras in 40 grids over the year before now (bulk COPY into a schema of its own
on the test PostgreSQL server, ANALYZEd, dropped afterwards), then serves the real app on a loopback uvicorn port
(admin API key, the real authenticator) and times N calls of ``GET /api/stats`` for a 30-day and a 182-day
period (each also reads the period before it: the 182-day one reads the whole year). Heavy: run it under
``flock /tmp/shopwatch-bench.lock nice -n 5``.

    python benchmarks/stats_latency.py [--events 500000] [--requests 30]
"""

from __future__ import annotations

import argparse
import asyncio
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

CAMERAS = 1204
GRIDS = 40
TYPES = [("card_posting", 0.6), ("loitering", 0.25), ("intrusion", 0.15)]
STATUSES = [("new", 0.3), ("acknowledged", 0.2), ("resolved", 0.3), ("dispatched", 0.05), ("false_positive", 0.15)]
COLUMNS = (  # event_key: a bulk-loaded event's own (no duplicate check; see store/event_once.py)
    'id, event_key, camera_id, grid, type, status, start, "end", detected_at, stored_at, confidence, zone, detail, '
    "snapshots, clip, media_bytes, teams, escalate_at, escalated_at, incident_id, deterrence, updated_at"
)


def fill(engine: Engine, count: int, now: datetime) -> float:
    """``count`` events over the year before ``now``, by COPY; returns the seconds it took."""
    rng = random.Random(15)
    types, type_w = zip(*TYPES, strict=True)
    statuses, status_w = zip(*STATUSES, strict=True)
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY events ({COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for n in range(count):
                camera = rng.randrange(1, CAMERAS + 1)
                start = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
                end = start + timedelta(seconds=5)
                copy.write_row((
                    f"bench{n:09d}", f"bench{n:027d}", f"cam-{camera:04d}", f"grid-{camera % GRIDS:02d}",
                    rng.choices(types, type_w)[0], rng.choices(statuses, status_w)[0],
                    start, end, end, end, 0.8, rng.choice(("wall", "door", "pole")), "{}", "{}", None, 0, "[]",
                    None, None, None, None, end,
                ))  # fmt: skip
        raw.commit()
        cursor.execute("ANALYZE events")
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


async def time_stats(engine: Engine, requests: int, periods: list[int], now: datetime) -> list[tuple[int, list[float]]]:
    configured = [make_camera(i, f"grid-{i % GRIDS:02d}") for i in range(1, CAMERAS + 1)]
    fleet = FakeFleet(configured, [])
    settings = IncidentsSettings.model_validate({"mqtt": {"enabled": False}, "linking": {"enabled": False}})
    auth = LoginService(AccountRepository(engine), AuthSettings(), SystemClock())
    key = auth.accounts.create_key("benchmark", Role.ADMIN, None, "benchmark").plaintext
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
        now = datetime.now(UTC).replace(microsecond=0)
        fill_s = fill(engine, args.events, now)
        print(f"# {args.events} events, {CAMERAS} cameras: COPY + ANALYZE {fill_s:.1f} s; load {os.getloadavg()}")
        rows = asyncio.run(time_stats(engine, args.requests, [30, 182], now))
        engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
    print("| period (+ previous) | calls | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for days, took in rows:
        q = statistics.quantiles(took, n=20)
        print(f"| {days} d (+{days} d) | {len(took)} | {statistics.median(took):.0f} | {q[18]:.0f} | {max(took):.0f} |")
    print(json.dumps({"load_after": os.getloadavg()}))


if __name__ == "__main__":
    main()
