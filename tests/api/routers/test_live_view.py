"""``/api/cameras/{id}/live.mjpeg``: each new picture once, as MJPEG parts; the camera kept decoding while
watched; audited; grid-scoped; at most ``api.live_views`` at once, each slot given back however it ends."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI
from PIL import Image

from shopwatch.api import live_view
from shopwatch.api.app import create_app
from shopwatch.api.deps import ApiContext, get_context
from shopwatch.api.services import Services
from shopwatch.core.config import Settings
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.principal import Role

from ..auth_fixtures import AuthKit
from ..fakes import FakeFleet, jpeg_bytes, small_fleet

BOUNDARY = b"--frame\r\n"


def picture(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), (shade, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


class FilmingFleet(FakeFleet):
    """Each camera's pictures in turn, each one asked for twice (a snapshot between two decodes)."""

    def __init__(self, shades: list[int]) -> None:
        super().__init__(small_fleet().cameras(), small_fleet().all_health().values())
        self.shown: Iterator[bytes] = iter([picture(s) for s in shades for _ in range(2)])
        self.last = b""

    async def snapshot_jpeg(self, camera_id: str, timeout_s: float) -> bytes:
        self.snapshot_calls.append((camera_id, timeout_s))
        if camera_id not in self.snapshots:  # the one being filmed
            self.last = next(self.shown, self.last)
            return self.last
        return await super().snapshot_jpeg(camera_id, timeout_s)


def parts(body: bytes) -> list[bytes]:
    """The JPEGs of an MJPEG body, each checked against its Content-Length."""
    found = []
    assert body.startswith(BOUNDARY) and body.endswith(BOUNDARY)  # each part is closed as it is sent
    for chunk in body.split(BOUNDARY)[1:-1]:
        head, _, rest = chunk.partition(b"\r\n\r\n")
        assert b"Content-Type: image/jpeg" in head
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))  # type: ignore[union-attr]
        assert rest[length:] == b"\r\n"
        found.append(rest[:length])
    return found


def build(fleet: FakeFleet, kit: AuthKit, **api: object) -> FastAPI:
    settings = Settings.model_validate({"api": api})
    return create_app(settings, Services(fleet, auth=kit.auth, audit=kit.audit))


def client(app: FastAPI, headers: dict[str, str]) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://t", timeout=10, headers=headers)


def context(app: FastAPI) -> ApiContext:
    return get_context(type("Conn", (), {"app": app})())  # type: ignore[arg-type]


async def test_each_new_picture_is_sent_once_while_the_camera_is_kept_active(
    auth_kit: AuthKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_view, "REPEAT_S", 60.0)
    fleet = FilmingFleet([10, 80, 150, 220])
    app = build(fleet, auth_kit)
    async with client(app, auth_kit.headers("viewer", Role.VIEWER)) as c:
        response = await c.get("/api/cameras/cam-0001/live.mjpeg", params={"fps": 12, "seconds": 1.2})
    assert response.status_code == 200
    assert response.headers["content-type"] == "multipart/x-mixed-replace; boundary=frame"
    assert response.headers["cache-control"] == "no-store"
    got = parts(response.content)
    assert got == [picture(s) for s in (10, 80, 150, 220)]  # asked for ~14 times: repeats are not sent
    assert len(fleet.snapshot_calls) >= 8
    assert fleet.activity_requests[0] == ("cam-0001", "live view") and len(fleet.activity_requests) >= 2
    [entry] = auth_kit.entries(action="camera.live")
    assert (entry.actor, entry.target, entry.detail["grid"]) == ("viewer", "cam-0001", "north")
    assert context(app).live_slots.taken == 0


async def test_an_unchanged_picture_is_sent_again_so_a_browser_shows_it(
    auth_kit: AuthKit, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_view, "REPEAT_S", 0.2)
    app = build(small_fleet(), auth_kit)  # cam-0001 always gives the same picture
    async with client(app, auth_kit.headers()) as c:
        response = await c.get("/api/cameras/cam-0001/live.mjpeg", params={"fps": 12, "seconds": 1.0})
    got = parts(response.content)
    assert 3 <= len(got) <= 6 and set(got) == {jpeg_bytes()}


async def test_unknown_other_grid_and_unavailable_cameras(auth_kit: AuthKit) -> None:
    fleet = small_fleet()
    fleet.snapshots["cam-0003"] = SnapshotUnavailable("no keyframe within 5 s")
    app = build(fleet, auth_kit)
    async with client(app, auth_kit.headers("patrol-n", Role.PATROL, ("north",))) as c:
        unknown = await c.get("/api/cameras/nope/live.mjpeg")
        other_grid = await c.get("/api/cameras/cam-0004/live.mjpeg")
        down = await c.get("/api/cameras/cam-0003/live.mjpeg")
    assert (unknown.status_code, other_grid.status_code) == (404, 404)
    # as if it did not exist
    assert other_grid.json() == {"detail": "camera 'cam-0004' is not registered", "kind": "not_found"}
    assert down.status_code == 503 and "no keyframe within 5 s" in down.json()["detail"]
    assert down.headers["retry-after"]
    assert context(app).live_slots.taken == 0
    assert fleet.activity_requests == [("cam-0003", "live view")]


async def test_at_most_api_live_views_at_once(auth_kit: AuthKit) -> None:
    fleet = FilmingFleet([10, 80])
    app = build(fleet, auth_kit, live_views=1)
    slots = context(app).live_slots
    async with client(app, auth_kit.headers()) as c:
        watching = asyncio.create_task(c.get("/api/cameras/cam-0001/live.mjpeg", params={"seconds": 1.0}))
        async with asyncio.timeout(5):
            while slots.taken == 0:
                await asyncio.sleep(0.01)
        refused = await c.get("/api/cameras/cam-0002/live.mjpeg")
        assert refused.status_code == 503 and "1 live views are streaming" in refused.json()["detail"]
        assert (await watching).status_code == 200
        assert slots.taken == 0
        again = await c.get("/api/cameras/cam-0002/live.mjpeg", params={"seconds": 0.1})
    assert again.status_code == 200 and parts(again.content) == [picture(80)]
    off = build(small_fleet(), auth_kit, live_views=0)
    async with client(off, auth_kit.headers()) as c:
        assert (await c.get("/api/cameras/cam-0001/live.mjpeg")).status_code == 503
