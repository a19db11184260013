"""The device snapshot: Digest or Basic as the device asks, refusals reported, and the API's snapshot route
falling back to it when the camera's RTSP stream is down (real supervisor and workers, no stream)."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from shopwatch.api.app import create_app
from shopwatch.api.services import Services
from shopwatch.core.config import CameraConfig, Ingest, Settings
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.health import CameraState
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.ingest.fleet import LiveFleet
from shopwatch.ingest.supervisor import Supervisor
from shopwatch.onvif.snapshot import DevicePolicy, OnvifSnapshots, fetch_jpeg
from shopwatch.sim.faults import closed_port
from shopwatch.sim.onvif.server import OnvifSimServer, snapshot_jpeg
from tests.api.auth_fixtures import AuthKit, auth_engine_fixture, auth_kit_fixture, migrated_template_fixture  # noqa: F401
from tests.onvif.conftest import PASSWORD, USER, IpyCamPeer, spec

LOCAL = DevicePolicy("127.0.0.1")
BASIC_ALLOWED = DevicePolicy("127.0.0.1", allow_basic=True)


@pytest.mark.parametrize("auth", ["digest", "basic"])
async def test_fetch_answers_the_challenge_the_device_sends(onvif_sim: OnvifSimServer, auth: str) -> None:
    device = onvif_sim.add_device(spec(snapshot_auth=auth))
    url = f"{device.base_url}/snapshot/sub.jpg"
    policy = BASIC_ALLOWED if auth == "basic" else LOCAL
    assert await fetch_jpeg(url, USER, PASSWORD, 5, policy) == snapshot_jpeg(device.spec)
    with pytest.raises(SnapshotUnavailable, match="HTTP 401"):
        await fetch_jpeg(url, USER, "wrong", 5, policy)
    if auth == "basic":  # Basic sends the password in clear: only when allowed
        with pytest.raises(SnapshotUnavailable, match="Basic login, not allowed"):
            await fetch_jpeg(url, USER, PASSWORD, 5, LOCAL)


async def test_fetch_from_ipycam_with_basic(ipycam: IpyCamPeer) -> None:
    jpeg = await fetch_jpeg(f"http://127.0.0.1:{ipycam.port}/snapshot.jpg", USER, PASSWORD, 5, BASIC_ALLOWED)
    assert jpeg.startswith(b"\xff\xd8")


async def test_snapshot_url_asked_of_the_device_when_onboarding_stored_none(onvif_sim: OnvifSimServer) -> None:
    device = onvif_sim.add_device(spec())
    host, port = device.base_url.removeprefix("http://").rsplit(":", 1)
    cam = CameraConfig.model_validate(
        {"id": "c", "name": "c", "grid": "g", "host": host, "onvif_port": int(port), "onvif": {"detect_profile": "sub"},
         "credentials": {"username": USER, "password": PASSWORD}}
    )  # fmt: skip
    assert await OnvifSnapshots(OnvifSettings()).jpeg(cam, 5) == snapshot_jpeg(device.spec)


FAST = Ingest(
    cameras_per_worker=10, open_timeout_s=2, read_timeout_s=2, stall_after_s=1, health_interval_s=0.1,
    backoff={"initial_s": 0.2, "max_s": 1.0, "auth_retry_s": 5},
)  # fmt: skip


@pytest.mark.rtsp
async def test_api_snapshot_falls_back_to_the_device_when_the_stream_is_down(
    onvif_sim: OnvifSimServer, auth_kit: AuthKit
) -> None:
    device = onvif_sim.add_device(spec())
    host, port = device.base_url.removeprefix("http://").rsplit(":", 1)
    dead_rtsp = f"rtsp://127.0.0.1:{closed_port()}/cam"
    base = {"grid": "g", "host": host, "onvif_port": int(port), "credentials": {"username": USER, "password": PASSWORD}}
    onvif_cam = CameraConfig.model_validate(
        {**base, "id": "shop", "name": "shop", "streams": {"detect": dead_rtsp},
         "onvif": {"snapshot_url": f"{device.base_url}/snapshot/sub.jpg"}}
    )  # fmt: skip
    plain_cam = CameraConfig.model_validate({**base, "id": "plain", "name": "plain", "streams": {"detect": dead_rtsp}})
    supervisor = Supervisor(FAST, log_level="warning")
    await supervisor.start([onvif_cam, plain_cam])
    try:
        deadline = time.monotonic() + 10
        while any((h := supervisor.health(c)) is None or h.state is not CameraState.OFFLINE for c in ("shop", "plain")):
            assert time.monotonic() < deadline, "cameras did not go offline"
            await asyncio.sleep(0.05)
        fleet = LiveFleet(supervisor, [onvif_cam, plain_cam], snapshot_fallback=OnvifSnapshots(OnvifSettings()))
        app = create_app(Settings(), Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit))
        transport, headers = httpx.ASGITransport(app=app), auth_kit.headers()
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=10, headers=headers) as api:
            got = await api.get("/api/cameras/shop/snapshot.jpg", params={"timeout_s": 2})
            assert got.status_code == 200 and got.headers["content-type"] == "image/jpeg"
            assert got.content == snapshot_jpeg(device.spec)
            plain = await api.get("/api/cameras/plain/snapshot.jpg", params={"timeout_s": 1})
            assert plain.status_code == 503  # no ONVIF: the honest answer stays "no frame"
    finally:
        await supervisor.stop()
