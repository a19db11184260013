"""``WS /api/live``: the console's live tiles over one socket, against the real API server on loopback with a
WebSocket client. The pictures are real H.264 (libx264) handed to the fleet's live feed as a worker would; the
browser side (MSE playing them) is tested in tests/api/test_console_live.py against simulated cameras."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from fractions import Fraction

import pytest
import websockets
from fastapi import FastAPI

from shopwatch.api.live_socket import KIND_INIT, KIND_MEDIA
from shopwatch.api.server import ApiServer
from shopwatch.core.principal import Role
from shopwatch.ingest.clip import StreamTemplate
from shopwatch.ingest.live_feed import LivePackets, LiveUnit
from shopwatch.store.audit import AuditFilter
from tests.ingest.test_fmp4 import TICKS, encode_h264

from .auth_fixtures import AuthKit
from .fakes import FakeFleet, all_passwords

H264 = StreamTemplate("h264", 160, 96, None, Fraction(1, 90_000))


@pytest.fixture
async def url(app: FastAPI) -> AsyncIterator[str]:
    server = ApiServer(app, "127.0.0.1", 0)
    task = asyncio.create_task(server.serve())
    yield server.url.replace("http://", "ws://") + "/api/live"
    server.stop()
    await asyncio.wait_for(task, timeout=10)


async def next_text(ws: websockets.ClientConnection, camera: str) -> dict[str, object]:
    while True:
        async with asyncio.timeout(5):
            message = await ws.recv()
        if isinstance(message, str) and json.loads(message).get("camera") == camera:
            return dict(json.loads(message))


def split(message: bytes) -> tuple[int, str, bytes]:
    kind, size = message[0], message[1]
    return kind, message[2 : 2 + size].decode(), message[2 + size :]


async def test_a_patrol_users_tiles_play_its_grids_cameras_and_say_why_one_is_offline(
    url: str, fleet: FakeFleet, auth_kit: AuthKit
) -> None:
    headers = auth_kit.headers("patrol-n", Role.PATROL, ("north",))
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"watch": "cam-0004"}))  # the south grid's: as if it did not exist
        refused = await next_text(ws, "cam-0004")
        assert refused["type"] == "error" and refused["status"] == 404
        await ws.send(json.dumps({"watch": "cam-0003"}))  # north, offline
        state = await next_text(ws, "cam-0003")
        assert state["type"] == "state" and state["state"] == "offline"
        assert "connection refused" in str(state["why"])
        assert not any(p in json.dumps(state) for p in all_passwords(fleet))
        await ws.send(json.dumps({"watch": "cam-0001"}))
        while not [w for w in fleet.watches if w.camera_id == "cam-0001"]:
            await asyncio.sleep(0.01)
        units = encode_h264(pictures=13)
        fleet.deliver(
            LivePackets(
                "cam-0001", H264, tuple(LiveUnit(d, i * TICKS, k, 0.0) for i, (d, k) in enumerate(units)), False
            )
        )
        live = await next_text(ws, "cam-0001")
        assert live["type"] == "live" and str(live["mime"]).startswith('video/mp4; codecs="avc1.')
        kinds = []
        while len(kinds) < 13:  # the init segment and 12 pictures (the 13th waits for its duration)
            async with asyncio.timeout(5):
                message = await ws.recv()
            if isinstance(message, bytes):
                kind, camera, payload = split(message)
                assert camera == "cam-0001"
                assert payload[4:8] == (b"ftyp" if kind == KIND_INIT else b"moof")
                kinds.append(kind)
        assert kinds == [KIND_INIT] + [KIND_MEDIA] * 12
    audited = await auth_kit.audit.query(AuditFilter(action="camera.live"))
    assert sorted((r.target, r.detail.get("via")) for r in audited) == [("cam-0001", "mse"), ("cam-0003", "mse")]


async def test_an_h265_camera_is_answered_with_the_still_fallback_and_bad_commands_with_a_sentence(
    url: str, fleet: FakeFleet, auth_kit: AuthKit
) -> None:
    async with websockets.connect(url, additional_headers=auth_kit.headers("op")) as ws:
        await ws.send("watch everything")
        error = json.loads(await ws.recv())
        assert error["status"] == 422 and "watch" in error["detail"]
        await ws.send(json.dumps({"watch": "cam-0002"}))
        while not [w for w in fleet.watches if w.camera_id == "cam-0002"]:
            await asyncio.sleep(0.01)
        hevc = StreamTemplate("hevc", 640, 360, None, Fraction(1, 90_000))
        fleet.deliver(LivePackets("cam-0002", hevc, (LiveUnit(b"\x00\x00\x01\x40\x01", 0, True, 0.0),), False))
        assert await next_text(ws, "cam-0002") == {"type": "unsupported", "camera": "cam-0002", "codec": "hevc"}


async def test_a_foreign_origin_and_no_credentials_are_refused_at_the_handshake(url: str, auth_kit: AuthKit) -> None:
    for headers, status in ((auth_kit.headers("op") | {"Origin": "http://evil.example"}, 403), ({}, 401)):
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(url, additional_headers=headers):
                pass
        assert refused.value.response.status_code == status
