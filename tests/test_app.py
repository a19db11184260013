"""The whole service through its composition root: config file -> workers -> API, over real loopback peers."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from PIL import Image

from shopwatch.app import run_service
from shopwatch.core.config_loader import load_settings
from shopwatch.core.principal import Role
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.faults import GarbageServer, closed_port
from shopwatch.sim.rtsp_server import SimServer
from shopwatch.store.db import create_engine_for, migrate
from tests.api.auth_fixtures import open_kit

pytestmark = pytest.mark.rtsp

PASSWORD = "Sh0p-right-pw"
WRONG = "Sh0p-wrong-pw"


@dataclass
class Running:
    client: httpx.AsyncClient
    config_path: Path
    config: dict[str, Any]

    def write(self) -> None:
        text = yaml.safe_dump(self.config, allow_unicode=True)
        self.config_path.write_text(text, encoding="utf-8")

    async def cameras(self) -> dict[str, dict[str, Any]]:
        response = await self.client.get("/api/cameras")
        response.raise_for_status()
        return {cam["id"]: cam for cam in response.json()["cameras"]}

    async def wait(self, predicate: Callable[[dict[str, dict[str, Any]]], bool], timeout_s: float) -> float:
        start = time.monotonic()
        while True:
            cams = await self.cameras()
            if predicate(cams):
                return time.monotonic() - start
            if time.monotonic() - start > timeout_s:
                states = {k: (v["health"] or {}).get("state") for k, v in cams.items()}
                raise AssertionError(f"not within {timeout_s} s; states: {states}")
            await asyncio.sleep(0.1)


def state(cam: dict[str, Any]) -> str | None:
    return (cam.get("health") or {}).get("state")


def admin_key_headers(data_dir: Path) -> dict[str, str]:
    """An admin API key in the service's database (made before it starts, as ``shopwatch keys create`` would)."""
    engine = create_engine_for(f"sqlite:///{data_dir / 'shopwatch.db'}")
    try:
        migrate(engine)
        key = open_kit(engine).auth.accounts.create_key("tests", Role.ADMIN, None, "tests").plaintext
    finally:
        engine.dispose()
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Running]:
    clip = generate_clip(ClipSpec("static", seconds=10), tmp_path / "clips")
    with SimServer() as sim, GarbageServer() as garbage:
        sim.add_camera("shop-a", clip)
        sim.add_camera("shop-b", clip, username="admin", password=PASSWORD)
        base = {"grid": "grid-1", "host": "127.0.0.1"}
        config = {
            "service": {"data_dir": str(tmp_path / "data"), "reload_interval_s": 0.2, "log_level": "warning"},
            "api": {"host": "127.0.0.1", "port": 0},
            "ingest": {
                "open_timeout_s": 2, "read_timeout_s": 2, "stall_after_s": 1, "health_interval_s": 0.2,
                "backoff": {"initial_s": 0.2, "max_s": 1.0, "auth_retry_s": 30},
            },
            "cameras": [
                {**base, "id": "shop-a", "name": "A", "streams": {"detect": sim.url("shop-a")}},
                {**base, "id": "shop-b", "name": "B", "streams": {"detect": sim.url("shop-b")},
                 "credentials": {"username": "admin", "password": WRONG}},
                {**base, "id": "garbage", "name": "G", "streams": {"detect": garbage.url()}},
                {**base, "id": "refused", "name": "R", "streams": {"detect": f"rtsp://127.0.0.1:{closed_port()}/x"}},
            ],
        }
        path = tmp_path / "shopwatch.yaml"
        headers = admin_key_headers(tmp_path / "data")
        running = Running(httpx.AsyncClient(), path, config)
        running.write()
        settings = load_settings(path)
        stop = asyncio.Event()
        ready: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(run_service(settings, path, stop=stop, on_ready=ready.set_result))
        try:
            url = await asyncio.wait_for(ready, 30)
            running.client = httpx.AsyncClient(base_url=url, timeout=10, headers=headers)
            yield running
        finally:
            stop.set()
            await asyncio.wait_for(task, 30)
            await running.client.aclose()


async def test_bad_cameras_get_clear_errors_and_a_config_edit_fixes_a_password_live(service: Running) -> None:
    await service.wait(
        lambda c: state(c["shop-a"]) == "online" and state(c["shop-b"]) == "auth_failed"
        and state(c["garbage"]) == "offline" and state(c["refused"]) == "offline",
        15,
    )
    cams = await service.cameras()
    assert "refused" in cams["refused"]["health"]["last_error"].lower()
    assert cams["garbage"]["health"]["last_error"]
    assert cams["shop-b"]["health"]["next_retry_in_s"] > 10  # slow retry, not hammered
    online_since = cams["shop-a"]["health"]["since"]

    service.config["cameras"][1]["credentials"]["password"] = PASSWORD
    service.write()
    took = await service.wait(lambda c: state(c["shop-b"]) == "online", 10)
    assert took < 10
    cams = await service.cameras()
    assert cams["shop-a"]["health"]["since"] == online_since  # untouched by the edit

    bodies = [
        (await service.client.get(path)).text
        for path in ("/api/cameras", "/api/cameras/shop-b", "/metrics", "/healthz")
    ]
    for body in bodies:
        assert PASSWORD not in body and WRONG not in body

    snap = await service.client.get("/api/cameras/shop-b/snapshot.jpg")
    assert snap.status_code == 200 and snap.headers["content-type"] == "image/jpeg"
    assert snap.content[:2] == b"\xff\xd8"


async def test_invalid_config_edit_keeps_the_running_cameras(service: Running) -> None:
    await service.wait(lambda c: state(c["shop-a"]) == "online", 15)
    service.config["cameras"][0]["port"] = 99999
    service.config["cameras"].append({"id": "new-cam", "name": "N", "grid": "g", "host": "127.0.0.1"})
    service.write()
    await asyncio.sleep(1.0)  # five reload intervals: the edit has been seen and refused
    cams = await service.cameras()
    assert "new-cam" not in cams and state(cams["shop-a"]) == "online"

    del service.config["cameras"][0]["port"]
    service.write()
    await service.wait(lambda c: "new-cam" in c, 5)


async def test_live_view_streams_decoded_pictures_and_keeps_the_camera_decoding(service: Running) -> None:
    """The static shop front is idle (keyframes only); watching it switches it to active for as long as the
    view lasts, and the view is pictures of the stream, not one snapshot repeated."""
    await service.wait(lambda c: state(c["shop-a"]) == "online", 15)
    assert (await service.cameras())["shop-a"]["health"]["mode"] == "idle"
    pictures: list[bytes] = []
    modes: list[str] = []
    async with service.client.stream("GET", "/api/cameras/shop-a/live.mjpeg", params={"fps": 6}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
        buffer = b""
        async with asyncio.timeout(20):
            async for chunk in response.aiter_bytes():
                buffer += chunk
                *done, buffer = buffer.split(b"--frame\r\n")
                pictures += [part.partition(b"\r\n\r\n")[2][:-2] for part in done if part]
                if len(pictures) >= 3:
                    modes.append((await service.cameras())["shop-a"]["health"]["mode"])
                if len(modes) >= 2:
                    break
    assert modes == ["active", "active"]
    assert len(set(pictures)) >= 3  # pictures of the stream as it is decoded, not one snapshot repeated
    with Image.open(io.BytesIO(pictures[0])) as first:
        assert (first.format, first.size) == ("JPEG", (640, 360))
    audit = (await service.client.get("/api/audit", params={"action": "camera.live"})).json()["entries"]
    assert [(e["target"], e["detail"]["grid"]) for e in audit] == [("shop-a", "grid-1")]
