"""Alert latency and the camera list, in one run, printed as one table:

- event submitted -> MQTT message at a subscriber and -> webhook received, one at a time and during a
  100 events/s burst. Real mosquitto (127.0.0.1:1883), SQLite in a temp dir; the subscriber and a loopback
  aiohttp webhook receiver run in a process of their own, as a patrol's would (not on the service's event loop),
  and stamp arrivals with the same system-wide monotonic clock the submitter uses.
- ``GET /api/cameras`` with 1,200 configured cameras (with health), through a real uvicorn server on a loopback
  port, authenticated with an admin API key (the real authenticator on SQLite).

    python benchmarks/alert_latency.py [--events 50] [--burst-s 3] [--list-requests 100]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx  # noqa: E402

from shopwatch.api.app import create_app  # noqa: E402
from shopwatch.api.server import ApiServer  # noqa: E402
from shopwatch.api.services import Services  # noqa: E402
from shopwatch.auth.audit import AuditTrail  # noqa: E402
from shopwatch.auth.login import LoginService  # noqa: E402
from shopwatch.core.access_config import AuthSettings  # noqa: E402
from shopwatch.core.clock import SystemClock  # noqa: E402
from shopwatch.core.config import Settings  # noqa: E402
from shopwatch.core.health import CameraState  # noqa: E402
from shopwatch.core.incidents_config import IncidentsSettings  # noqa: E402
from shopwatch.core.principal import Role  # noqa: E402
from shopwatch.store.accounts import AccountRepository  # noqa: E402
from shopwatch.store.audit import AuditRepository  # noqa: E402
from shopwatch.store.db import create_engine_for, migrate  # noqa: E402
from tests.api.fakes import FakeFleet, make_camera, make_health  # noqa: E402
from tests.incidents.peers import Subscriber, WebhookReceiver, build, make_event  # noqa: E402

SECRET = "b" * 32


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


Row = tuple[str, int, list[float], str]  # what, samples, milliseconds, target


def _serve_peers(conn: Connection, prefix: str) -> None:
    asyncio.run(_peers(conn, prefix))


async def _peers(conn: Connection, prefix: str) -> None:
    """The patrol side: answers "clear", "collect" (event id and arrival time of every message and webhook so
    far) and None (stop)."""
    receiver = WebhookReceiver(SECRET.encode())
    await receiver.start()
    sub = Subscriber(1883, [f"{prefix}/alerts/#"])
    await sub.start()
    conn.send(receiver.url)
    while (command := await asyncio.to_thread(conn.recv)) is not None:
        if command == "clear":
            sub.messages.clear()
            receiver.requests.clear()
            conn.send(None)
        else:
            mqtt = [(p["event_id"], t) for _, p, t in sub.messages]
            conn.send((mqtt, [(p["event_id"], t) for p, _, _, t in receiver.requests]))
    await sub.stop()
    await receiver.stop()


async def _ask(conn: Connection, command: str) -> Any:
    conn.send(command)
    return await asyncio.to_thread(conn.recv)


async def _arrivals(conn: Connection, n: int, timeout_s: float = 60) -> tuple[list[Any], list[Any]]:
    deadline = time.monotonic() + timeout_s
    while True:
        mqtt, hooks = await _ask(conn, "collect")
        if len(mqtt) >= n and len(hooks) >= n:
            return mqtt, hooks
        if time.monotonic() > deadline:
            raise RuntimeError(f"after {timeout_s} s: {len(mqtt)} MQTT messages and {len(hooks)} webhooks of {n}")
        await asyncio.sleep(0.1)


async def alert_rows(events: int, burst_s: float) -> list[Row]:
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    conn, theirs = mp.get_context("spawn").Pipe()
    peers = mp.get_context("spawn").Process(target=_serve_peers, args=(theirs, prefix), daemon=True)
    peers.start()
    webhook_url = await asyncio.to_thread(conn.recv)
    conf = IncidentsSettings.model_validate(
        {
            "teams": [
                {
                    "name": "t",
                    "grids": ["north"],
                    "channels": {
                        "mqtt_topic": f"{prefix}/alerts/{{grid}}/{{type}}",
                        "webhooks": [{"url": webhook_url, "secret": SECRET, "allow_plain_http": True}],
                    },
                }
            ],
            "linking": {"enabled": False},
        }
    )
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine_for(f"sqlite:///{tmp}/db.sqlite")
        migrate(engine)
        service = build(conf, engine, FakeFleet([make_camera(1, "north")]), Path(tmp), SystemClock())
        await service.start()
        visit = 0  # each event another visit: starts 10 s apart (reports of one visit are stored once)
        first_start = time.time() - 3 * 3600
        for label, n, rate in (("one at a time", events, 5.0), ("100 events/s burst", int(100 * burst_s), 100.0)):
            await _ask(conn, "clear")
            sent: dict[str, float] = {}
            start = time.monotonic()
            for i in range(n):
                event = make_event("cam-0001", first_start + 10 * visit)
                visit += 1
                sent[event.id] = time.monotonic()
                service.submit(event)
                await asyncio.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))  # the rate, not drifting
            mqtt, hooks = await _arrivals(conn, n)
            target = "≤ 200 ms p95" if "burst" in label else ""
            rows += [
                (f"event → MQTT subscriber, {label}", n, [(t - sent[e]) * 1000 for e, t in mqtt], target),
                (f"event → webhook, {label}", n, [(t - sent[e]) * 1000 for e, t in hooks], ""),
            ]
        await service.close()
        engine.dispose()
    conn.send(None)
    await asyncio.to_thread(peers.join, 10)
    return rows


async def camera_list_rows(requests: int, cameras: int = 1200) -> list[Row]:
    """The console's camera page: every camera with its health (each report new since the last request), as an
    admin sees it."""
    configured = [make_camera(i, f"grid-{i % 40:02d}") for i in range(1, cameras + 1)]
    states = list(CameraState)
    fleet = FakeFleet(configured, [make_health(c, states[i % len(states)]) for i, c in enumerate(configured)])
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine_for(f"sqlite:///{tmp}/db.sqlite")
        migrate(engine)
        auth = LoginService(AccountRepository(engine), AuthSettings(), SystemClock())
        key = auth.accounts.create_key("benchmark", Role.ADMIN, None, "benchmark").plaintext
        audit = AuditTrail(AuditRepository(engine), SystemClock())
        server = ApiServer(create_app(Settings(), Services(fleet, auth=auth, audit=audit)), "127.0.0.1", 0)
        serving = asyncio.create_task(server.serve())
        took: list[float] = []
        try:
            headers = {"Authorization": f"Bearer {key}"}
            async with httpx.AsyncClient(base_url=server.url, timeout=10, headers=headers) as client:
                for i in range(requests + 5):  # the first few warm up (imports, caches); not timed
                    # A live fleet's workers report every camera's health every second: a console refreshing
                    # its list sees every camera's health replaced since its last look (not timed).
                    for health in list(fleet.all_health().values()):
                        fleet.report(replace(health, packets_total=health.packets_total + 1))
                    started = time.perf_counter()
                    response = await client.get("/api/cameras")
                    elapsed = (time.perf_counter() - started) * 1000
                    response.raise_for_status()
                    if i == 0 and (found := response.json()["count"]) != cameras:
                        raise RuntimeError(f"expected {cameras} cameras, found {found}")
                    if i >= 5:
                        took.append(elapsed)
        finally:
            server.stop()
            await serving
            engine.dispose()
    return [(f"GET /api/cameras, {cameras:,} cameras", requests, took, "≤ 50 ms p95")]


async def run(events: int, burst_s: float, list_requests: int) -> None:
    rows = await alert_rows(events, burst_s)
    rows += await camera_list_rows(list_requests)
    print("| measurement | samples | p50 / p95 | target |")
    print("|---|---|---|---|")
    for what, n, ms, target in rows:
        print(f"| {what} | {n} | {pct(ms, 50):.1f} / {pct(ms, 95):.1f} ms | {target} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--burst-s", type=float, default=3.0)
    parser.add_argument("--list-requests", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.burst_s, args.list_requests))


if __name__ == "__main__":
    main()
