"""Teaching a false positive, end to end through the whole service: a simulated camera loops a scene where a
card is posted (18 s a loop; detection on motion blobs, no model). The first event is marked false_positive with
``ignore_spot`` over the API; the running worker learns the spot without a restart or a reconnection, the same
patch on the next loops raises no event and is counted in the camera's health; an admin clears the spot and the
next loop raises the event again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shopwatch.app import run_service
from shopwatch.core.config_loader import load_settings
from shopwatch.sim.rtsp_server import SimServer
from tests.models.test_detect_thread import DETECTION, camera_stream
from tests.test_app import admin_key_headers

pytestmark = pytest.mark.rtsp

LOOP_S = 18.0


async def until(check: Callable[[], Awaitable[Any]], timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = await check()
        if found:
            return found
        assert time.monotonic() < deadline, f"not within {timeout_s} s: {what}"
        await asyncio.sleep(0.5)


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    clip = camera_stream(tmp_path / "posting.h264")
    with SimServer() as sim:
        config = {
            "service": {"data_dir": str(tmp_path / "data"), "reload_interval_s": 0.5, "log_level": "warning"},
            "api": {"host": "127.0.0.1", "port": 0},
            "ingest": {"open_timeout_s": 3, "read_timeout_s": 2, "stall_after_s": 1, "health_interval_s": 0.2,
                       "activity": {"quiet_s": 600.0, "postroll_s": 1.0}},
            "incidents": {"mqtt": {"enabled": False}},
            "cameras": [{"id": "shop-1", "name": "shop", "grid": "g1", "host": "127.0.0.1",
                         "streams": {"detect": sim.add_camera("shop-1", clip)}, "detection": DETECTION}],
        }  # fmt: skip
        path = tmp_path / "shopwatch.yaml"
        path.write_text(yaml.safe_dump(config))
        headers = admin_key_headers(tmp_path / "data")
        stop = asyncio.Event()
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(run_service(load_settings(path), path, stop=stop, on_ready=ready.set_result))
        try:
            url = await asyncio.wait_for(ready, 30)
            async with httpx.AsyncClient(base_url=url, timeout=10, headers=headers) as c:
                yield c
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)


async def test_a_taught_spot_is_suppressed_live_and_clearing_it_brings_the_event_back(
    client: httpx.AsyncClient,
) -> None:
    async def events() -> list[dict[str, Any]]:
        return list((await client.get("/api/events", params={"type": "card_posting"})).json()["events"])

    async def detection() -> dict[str, Any]:
        health = (await client.get("/api/cameras/shop-1")).json()["health"] or {}
        return dict(health.get("detection") or {})

    [first, *_] = await until(events, 2.5 * LOOP_S, "a first card-posting event")
    assert (await detection())["calibration"] == "default"
    body = {"status": "false_positive", "note": "nothing new there", "ignore_spot": True}
    assert (await client.post(f"/api/events/{first['id']}/transitions", json=body)).status_code == 200

    async def taught() -> bool:
        return (await detection()).get("ignored_spots") == 1

    await until(taught, 10, "the worker to learn the spot")
    reconnects = ((await client.get("/api/cameras/shop-1")).json()["health"])["reconnects"]
    seen = {e["id"] for e in await events()}

    async def suppressed() -> bool:
        return (await detection()).get("suppressed_by_spots", 0) >= 1

    await until(suppressed, 2.5 * LOOP_S, "the same patch to be suppressed")
    await asyncio.sleep(3)  # an event of that visit would be stored by now
    assert {e["id"] for e in await events()} == seen  # nothing new was raised
    assert (await client.get("/api/cameras/shop-1")).json()["health"]["reconnects"] == reconnects  # no reconnect

    assert (await client.delete("/api/cameras/shop-1/ignored-spots")).json() == {"removed": 1}

    async def cleared() -> bool:
        return (await detection()).get("ignored_spots") == 0

    await until(cleared, 10, "the worker to forget the spot")

    async def raised_again() -> list[dict[str, Any]]:
        return [e for e in await events() if e["id"] not in seen]

    [again, *_] = await until(raised_again, 2.5 * LOOP_S, "the event to be raised again")
    assert again["zone"] == first["zone"] == "shopfront"
