"""Alert latency: event submitted -> MQTT message at a subscriber and -> webhook received, one at a time and
during a 100 events/s burst. Real mosquitto (127.0.0.1:1883), a loopback aiohttp receiver, SQLite in a temp dir.

    python benchmarks/alert_latency.py [--events 50] [--burst-s 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopwatch.core.clock import SystemClock  # noqa: E402
from shopwatch.core.incidents_config import IncidentsSettings  # noqa: E402
from shopwatch.store.db import create_engine_for, migrate  # noqa: E402
from tests.api.fakes import FakeFleet, make_camera  # noqa: E402
from tests.incidents.peers import Subscriber, WebhookReceiver, build, make_event, wait_for  # noqa: E402

SECRET = "b" * 32


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


async def run(events: int, burst_s: float) -> None:
    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    receiver = WebhookReceiver(SECRET.encode())
    await receiver.start()
    sub = Subscriber(1883, [f"{prefix}/alerts/#"])
    await sub.start()
    conf = IncidentsSettings.model_validate(
        {
            "teams": [
                {
                    "name": "t",
                    "grids": ["north"],
                    "channels": {
                        "mqtt_topic": f"{prefix}/alerts/{{grid}}/{{type}}",
                        "webhooks": [{"url": receiver.url, "secret": SECRET}],
                    },
                }
            ],
            "linking": {"enabled": False},
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine_for(f"sqlite:///{tmp}/db.sqlite")
        migrate(engine)
        service = build(conf, engine, FakeFleet([make_camera(1, "north")]), Path(tmp), SystemClock())
        await service.start()
        rows = []
        for label, n, rate in (("one at a time", events, 5.0), ("100 events/s burst", int(100 * burst_s), 100.0)):
            sub.messages.clear()
            receiver.requests.clear()
            sent: dict[str, float] = {}
            for _ in range(n):
                event = make_event("cam-0001", time.time())
                sent[event.id] = time.monotonic()
                service.submit(event)
                await asyncio.sleep(1 / rate)
            await wait_for(lambda n=n: len(sub.messages) >= n and len(receiver.requests) >= n, 60, "all alerts")
            mqtt = [(t - sent[p["event_id"]]) * 1000 for _, p, t in sub.messages]
            hook = [(t - sent[p["event_id"]]) * 1000 for p, _, _, t in receiver.requests]
            rows.append((label, n, mqtt, hook))
        await service.close()
        engine.dispose()
    await sub.stop()
    await receiver.stop()
    print("| load | events | event → MQTT p50 / p95 | event → webhook p50 / p95 |")
    print("|---|---|---|---|")
    for label, n, mqtt, hook in rows:
        m, h = f"{pct(mqtt, 50):.1f} / {pct(mqtt, 95):.1f}", f"{pct(hook, 50):.1f} / {pct(hook, 95):.1f}"
        print(f"| {label} | {n} | {m} ms | {h} ms |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--burst-s", type=float, default=3.0)
    args = parser.parse_args()
    asyncio.run(run(args.events, args.burst_s))


if __name__ == "__main__":
    main()
