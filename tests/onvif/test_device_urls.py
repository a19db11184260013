"""URLs a camera reports stay on the camera: a simulated camera on 127.0.0.1 (a compromised one) reports a
snapshot URL, stream URIs, a Media2 address or a PullPoint address on a second listener at 127.0.0.2 that
records every connection and byte it receives. The service refuses each before connecting (snapshot fetches,
onboarding, event subscriptions): the listener sees nothing (no request, no credentials), and the error names
neither that host nor how a connection there went. An allow-listed host (``onvif.allowed_hosts``) is fetched and
kept by onboarding; a body past the cap is dropped."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web

from shopwatch.core.clock import ManualClock
from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import DeviceRefused, SnapshotUnavailable
from shopwatch.core.health import EventsState
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.onvif.bulk import make_request, onboard_many
from shopwatch.onvif.device import OnvifTarget
from shopwatch.onvif.device_urls import check_device_url
from shopwatch.onvif.onboard import OnboardOutcome, onboard
from shopwatch.onvif.snapshot import MAX_SNAPSHOT_BYTES, DevicePolicy, OnvifSnapshots, fetch_jpeg
from shopwatch.onvif.subscriptions import EventSubscriptions
from shopwatch.sim.onvif.server import OnvifSimServer
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.db import create_engine_for, migrate
from tests.onvif.conftest import PASSWORD, USER, shop_profiles, spec

INSIDE = "127.0.0.2"  # "a host on the station's network", reachable from the service
SUBSCRIPTION_SETTINGS = OnvifSettings.model_validate(
    {"timeout_s": 3, "events": {"pull_timeout_s": 0.5, "retry_initial_s": 0.1, "retry_max_s": 0.5}}
)


class Recorder:
    def __init__(self) -> None:
        self.seen: list[dict[str, str]] = []
        self.body = b"\xff\xd8" + b"\0" * 100
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(dict(request.headers))
        return web.Response(body=self.body, content_type="image/jpeg")


@pytest.fixture(name="recorder")
async def recorder_fixture() -> AsyncIterator[Recorder]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_get("/{tail:.*}", recorder.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, INSIDE, 0)
    await site.start()
    recorder.url = f"http://{INSIDE}:{runner.addresses[0][1]}/admin/snapshot.jpg"
    yield recorder
    await runner.cleanup()


def camera_of(base_url: str, **onvif: object) -> CameraConfig:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    return CameraConfig.model_validate(
        {"id": "shop", "name": "shop", "grid": "g", "host": host, "onvif_port": int(port),
         "onvif": {"detect_profile": "sub", **onvif}, "credentials": {"username": USER, "password": PASSWORD}}
    )  # fmt: skip


async def test_a_snapshot_url_the_camera_reports_on_another_host_is_never_fetched(
    onvif_sim: OnvifSimServer, recorder: Recorder
) -> None:
    device = onvif_sim.add_device(spec(reported_snapshot_url=recorder.url))
    with pytest.raises(SnapshotUnavailable) as refused:
        await OnvifSnapshots(OnvifSettings()).jpeg(camera_of(device.base_url), 5)
    assert recorder.seen == []  # no request: no credentials, no probe
    message = str(refused.value)
    assert "another host" in message and INSIDE not in message and PASSWORD not in message


async def test_a_stored_snapshot_url_on_another_host_is_refused_too(
    onvif_sim: OnvifSimServer, recorder: Recorder
) -> None:
    device = onvif_sim.add_device(spec())
    with pytest.raises(SnapshotUnavailable, match="another host"):
        await OnvifSnapshots(OnvifSettings()).jpeg(camera_of(device.base_url, snapshot_url=recorder.url), 5)
    assert recorder.seen == []


async def test_an_allow_listed_host_is_fetched(onvif_sim: OnvifSimServer, recorder: Recorder) -> None:
    device = onvif_sim.add_device(spec(reported_snapshot_url=recorder.url))
    settings = OnvifSettings(allowed_hosts=[INSIDE])
    assert (await OnvifSnapshots(settings).jpeg(camera_of(device.base_url), 5)).startswith(b"\xff\xd8")
    assert len(recorder.seen) == 1


async def test_a_body_past_the_cap_is_dropped(recorder: Recorder) -> None:
    recorder.body = b"\xff\xd8" + b"\0" * (MAX_SNAPSHOT_BYTES + 1)
    with pytest.raises(SnapshotUnavailable, match="over 10 MiB"):
        await fetch_jpeg(recorder.url, "", "", 5, DevicePolicy(INSIDE))


@pytest.mark.parametrize(
    ("url", "ok"),
    [("http://10.1.2.3/snap.jpg", True), ("http://10.1.2.3:8080/x", True), ("rtsp://10.1.2.3:554/s", True),
     ("http://[::1]/x", False), ("http://10.1.2.4/x", False), ("http://10.1.2.3.evil.example/x", False),
     ("http://user@10.9.9.9/x", False), ("not a url", False)],
)  # fmt: skip
def test_only_the_cameras_own_host_passes(url: str, ok: bool) -> None:
    if ok:
        assert check_device_url(url, "10.1.2.3") == url
    else:
        with pytest.raises(DeviceRefused):
            check_device_url(url, "10.1.2.3")


async def test_onboarding_refuses_a_camera_that_reports_another_hosts_snapshot_uri(
    onvif_sim: OnvifSimServer, recorder: Recorder
) -> None:
    device = onvif_sim.add_device(spec(reported_snapshot_url=recorder.url))
    host, port = device.base_url.removeprefix("http://").rsplit(":", 1)
    report = await onboard(OnvifTarget(host, int(port), USER, PASSWORD), timeout_s=5, clock_tolerance_s=5)
    assert report.outcome is OnboardOutcome.PROTOCOL_ERROR and report.findings is None
    assert "snapshot URI on another host" in report.detail and INSIDE not in report.detail
    assert recorder.seen == []


class TcpRecorder:
    """A listener on the "station network" host that records every connection and every byte it receives (any
    protocol: RTSP, SOAP over HTTP), answering nothing."""

    def __init__(self) -> None:
        self.connections = 0
        self.received = b""
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        with contextlib.suppress(ConnectionError):
            self.received += await reader.read(65536)
        writer.close()


@pytest.fixture(name="tcp_recorder")
async def tcp_recorder_fixture() -> AsyncIterator[TcpRecorder]:
    recorder = TcpRecorder()
    server = await asyncio.start_server(recorder.handle, INSIDE, 0)
    recorder.port = server.sockets[0].getsockname()[1]
    try:
        yield recorder
    finally:
        server.close()
        await server.wait_closed()


def target_of_device(base_url: str, allowed_hosts: tuple[str, ...] = ()) -> OnvifTarget:
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    return OnvifTarget(host, int(port), USER, PASSWORD, allowed_hosts)


@pytest.mark.parametrize("what", ["stream URI", "Media2 address"])
async def test_onboarding_refuses_a_stream_uri_or_media2_address_on_another_host_and_sends_it_nothing(
    onvif_sim: OnvifSimServer, tcp_recorder: TcpRecorder, what: str
) -> None:
    elsewhere = f"{INSIDE}:{tcp_recorder.port}"
    if what == "stream URI":  # every profile streams from the other host (the backchannel probe would log in)
        profiles = tuple(replace(p, stream_url=f"rtsp://{elsewhere}/{p.token}") for p in shop_profiles())
        device = onvif_sim.add_device(spec(profiles=profiles))
    else:  # the Media2 service "is" on the other host: GetProfiles and GetStreamUri would be posted there
        device = onvif_sim.add_device(spec(reported_media2_url=f"http://{elsewhere}/onvif/media2_service"))
    report = await onboard(target_of_device(device.base_url), timeout_s=5, clock_tolerance_s=5)
    assert report.outcome is OnboardOutcome.PROTOCOL_ERROR and report.findings is None
    assert f"{what} on another host" in report.detail and INSIDE not in report.detail
    assert (tcp_recorder.connections, tcp_recorder.received) == (0, b"")  # no probe, no credentials


async def test_a_pullpoint_address_on_another_host_is_never_pulled(
    onvif_sim: OnvifSimServer, tcp_recorder: TcpRecorder
) -> None:
    device = onvif_sim.add_device(spec(reported_pullpoint_url=f"http://{INSIDE}:{tcp_recorder.port}/subscription/1"))
    subs = EventSubscriptions(SUBSCRIPTION_SETTINGS, lambda _camera_id, _reason: True, clock=ManualClock())
    try:
        subs.apply([camera_of(device.base_url, events=True)])
        for _ in range(250):
            health = subs.health("shop")
            if health is not None and health.last_error:
                break
            await asyncio.sleep(0.02)
        assert health is not None and health.state is EventsState.RETRYING
        assert "PullPoint address on another host" in (health.last_error or "") and INSIDE not in health.last_error
    finally:
        await subs.stop()
    assert device.counters.subscriptions_created >= 1
    assert (tcp_recorder.connections, tcp_recorder.received) == (0, b"")  # no pull, no credentials


async def test_onboarding_accepts_uris_on_an_allow_listed_host(onvif_sim: OnvifSimServer, recorder: Recorder) -> None:
    """An NVR serving a camera's snapshots: listed in ``onvif.allowed_hosts``, the reported URI is kept."""
    device = onvif_sim.add_device(spec(reported_snapshot_url=recorder.url))
    report = await onboard(target_of_device(device.base_url, (INSIDE,)), timeout_s=5, clock_tolerance_s=5)
    assert report.outcome is OnboardOutcome.OK, report.detail
    assert report.findings is not None and report.findings.snapshot_url == recorder.url
    assert recorder.seen == []  # onboarding only records it; nothing is fetched there


async def test_cameras_onboard_refuses_then_with_the_allow_list_keeps_an_nvr_snapshot_uri(
    onvif_sim: OnvifSimServer, recorder: Recorder, tmp_path: Path
) -> None:
    """What ``cameras onboard`` runs (``onboard_many``) takes ``onvif.allowed_hosts`` from the config."""
    engine = create_engine_for(f"sqlite:///{tmp_path / 'data' / 'shopwatch.db'}")
    migrate(engine)
    repo = CameraRepository(engine)
    device = onvif_sim.add_device(spec(reported_snapshot_url=recorder.url))
    request = make_request(device.base_url.removeprefix("http://"), USER, PASSWORD, {}, camera_id="shop", grid="g")
    [refused] = await onboard_many([request], repo, OnvifSettings(timeout_s=5))
    assert refused.report.outcome is OnboardOutcome.PROTOCOL_ERROR and repo.get("shop") is None
    [kept] = await onboard_many([request], repo, OnvifSettings(timeout_s=5, allowed_hosts=[INSIDE]))
    assert kept.report.outcome is OnboardOutcome.OK, kept.report.detail
    camera = repo.get("shop")
    assert camera is not None and camera.onvif is not None and camera.onvif.snapshot_url == recorder.url
    assert recorder.seen == []
    engine.dispose()
