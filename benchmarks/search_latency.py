"""``GET /api/search`` latency over a year of events on PostgreSQL: before and after the search indexes of
migration 0011, side by side in one table, on the same generated data in one run.

Generates ~500k events for 1,204 cameras over the year before now (the same COPY as ``stats_latency.py``, fixed
seed) and 20k tips, in a schema of its own on the test PostgreSQL server (dropped afterwards); serves the real app
on a loopback port (admin API key) and times N calls of each search. "before": the four indexes of 0011 dropped
(events then have only their single-column camera index and the (start, id) one); "after": created again and
ANALYZEd; the two alternate in rounds against one server, so both see the same load. The small fleet's cameras
stand 11 m apart along one street ("N Long Street"), so "along Long Street" covers all 1,204 cameras.
Heavy: run it under ``flock /tmp/shopwatch-bench.lock nice -n 5``.

    python benchmarks/search_latency.py [--events 500000] [--requests 30] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402
from sqlalchemy import Engine, text  # noqa: E402

from benchmarks._pg_scratch import scratch_engine  # noqa: E402
from benchmarks.stats_latency import CAMERAS, GRIDS, fill  # noqa: E402
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
from shopwatch.store.search import Filters, events_query  # noqa: E402
from tests.api.fakes import FakeFleet, make_camera  # noqa: E402

TIPS = 20_000
INDEXES = {  # migration 0011
    "ix_events_camera_start": "events (camera_id, start, id)",
    "ix_tips_seen_at": "tips (seen_at, id)",
    "ix_tips_camera": "tips (camera_id)",
    "ix_tips_place": "tips (lat, lon)",
}
TIP_COLUMNS = (
    "id, type, text, status, filed_at, seen_at, filed_by, tipster, lat, lon, camera_id, address, place_from, grid, "
    "photos, nearby, incident_id, decided_by, decided_at, note, led_to_case"
)


def fill_tips(engine: Engine, count: int, now: datetime) -> None:
    rng = random.Random(16)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        with cursor.copy(f"COPY tips ({TIP_COLUMNS}) FROM STDIN") as copy:  # type: ignore[attr-defined]
            for n in range(count):
                camera = rng.randrange(1, CAMERAS + 1)
                seen = now - timedelta(seconds=rng.uniform(0, 365 * 86400))
                positioned = rng.random() < 0.5
                copy.write_row((
                    f"tip{n:09d}", rng.choice(("card_posting", "hazard", "other")), "x", "candidate", seen, seen,
                    "vol", "vol", 39.9 + camera / 10_000 if positioned else None, 116.4 if positioned else None,
                    None if positioned else f"cam-{camera:04d}", f"{camera} Long Street", "location",
                    f"grid-{camera % GRIDS:02d}", "[]", "{}", None, None, None, "", False,
                ))  # fmt: skip
        raw.commit()
        cursor.execute("ANALYZE tips")
        raw.commit()
    finally:
        raw.close()


def searches(now: datetime) -> list[tuple[str, dict[str, Any]]]:
    evening = (now - timedelta(days=3)).replace(hour=14, minute=0, second=0)  # 22:00 in the station
    hour = {"from": evening.isoformat(), "to": (evening + timedelta(hours=1)).isoformat()}
    month = {"from": (now - timedelta(days=30)).isoformat(), "to": now.isoformat()}
    year = {"from": (now - timedelta(days=365)).isoformat(), "to": now.isoformat()}
    centre = {"lat": 39.96, "lon": 116.4, "radius_m": 200}  # cam-0600 and the ~36 cameras within 200 m
    line = {"path": "39.95,116.4;39.959,116.4", "width_m": 60}  # 1 km of the street: ~90 cameras
    return [
        ("200 m circle, 1 h", {**centre, **hour}),
        ("200 m circle, 30 d (first page)", {**centre, **month}),
        ("1 km street line, 1 h", {**line, **hour}),
        ("along the street (1,204 cameras), 1 h", {"along": "Long Street", **hour}),
        ("along the street, 30 d (first page)", {"along": "Long Street", **month}),
        ("one camera, 365 d (first page)", {"camera_id": "cam-0600", **year}),
        ("200 m circle, 365 d (first page)", {**centre, **year}),
    ]


async def time_searches(engine: Engine, requests: int, rounds: int, now: datetime) -> dict[str, dict[str, list[float]]]:
    """Rounds of "before" (indexes dropped) then "after" (created again) against one server, so both see the
    same load over the run; ``requests`` calls of each search in each state, spread over the rounds."""
    fleet = FakeFleet([make_camera(i, f"grid-{i % GRIDS:02d}") for i in range(1, CAMERAS + 1)], [])
    settings = IncidentsSettings.model_validate({"mqtt": {"enabled": False}, "linking": {"enabled": False}})
    auth = LoginService(AccountRepository(engine), AuthSettings(), SystemClock())
    key = auth.accounts.create_key(f"bench-{uuid.uuid4().hex[:6]}", Role.ADMIN, None, "benchmark").plaintext
    audit = AuditTrail(AuditRepository(engine), SystemClock())
    results: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    with tempfile.TemporaryDirectory() as tmp:
        incidents = build_incidents(settings, engine, fleet, None, Path(tmp), SystemClock())
        app = create_app(Settings(), Services(fleet, auth=auth, audit=audit, incidents=incidents))
        server = ApiServer(app, "127.0.0.1", 0)
        serving = asyncio.create_task(server.serve())
        try:
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=server.url, timeout=60, headers=headers) as client:
                for round_ in range(rounds):
                    for state, present in (("before", False), ("after", True)):
                        set_indexes(engine, present)
                        for name, params in searches(now):
                            took = results[state].setdefault(name, [])
                            for i in range(requests // rounds + 2):  # the first two of a round warm up
                                started = time.perf_counter()
                                response = await client.get("/api/search", params={**params, "limit": 100})
                                elapsed = (time.perf_counter() - started) * 1000
                                response.raise_for_status()
                                if i >= 2:
                                    took.append(elapsed)
                            if round_ == 0:
                                answer = response.json()
                                used = plan(engine, [c["id"] for c in answer["cameras"]], params)
                                print(
                                    f"# {state}, {name}: {len(answer['results'])} on the page; plan: {used}", flush=True
                                )
        finally:
            server.stop()
            await serving
            await incidents.close()
    return results


def plan(engine: Engine, camera_ids: list[str], params: dict[str, Any]) -> str:
    """The indexes PostgreSQL's plan for the events query of this search reads."""
    f = Filters(since=datetime.fromisoformat(params["from"]), until=datetime.fromisoformat(params["to"]), limit=101)
    compiled = events_query(frozenset(camera_ids), f).compile(engine, compile_kwargs={"render_postcompile": True})
    with engine.connect() as conn:
        lines = [row[0] for row in conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params)]
    used = sorted(set(re.findall(r"(?:Scan using|Bitmap Index Scan on) (\w+)", "\n".join(lines))))
    return ", ".join(used) or "no index"


def set_indexes(engine: Engine, present: bool) -> None:
    with engine.begin() as conn:
        for name, where in INDEXES.items():
            conn.execute(
                text(f"CREATE INDEX IF NOT EXISTS {name} ON {where}" if present else f"DROP INDEX IF EXISTS {name}")
            )
        conn.execute(text("ANALYZE events"))
        conn.execute(text("ANALYZE tips"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=500_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3, help="before/after rounds, alternating")
    args = parser.parse_args()
    with scratch_engine() as engine:
        now = datetime.now(UTC).replace(microsecond=0)
        fill_s = fill(engine, args.events, now)
        fill_tips(engine, TIPS, now)
        print(f"# {args.events} events, {TIPS} tips, {CAMERAS} cameras: fill {fill_s:.1f} s; load {os.getloadavg()}")
        timed = asyncio.run(time_searches(engine, args.requests, args.rounds, now))
        before, after = timed["before"], timed["after"]
    print(f"| search ({args.requests} calls each) | before p50 ms | before p95 ms | after p50 ms | after p95 ms |")
    print("|---|---|---|---|---|")
    for name in before:
        b, a = before[name], after[name]
        bq, aq = statistics.quantiles(b, n=20), statistics.quantiles(a, n=20)
        print(f"| {name} | {statistics.median(b):.0f} | {bq[18]:.0f} | {statistics.median(a):.0f} | {aq[18]:.0f} |")
    print(f"# load after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
