"""URLs a camera reports stay on the camera: a simulated camera on 127.0.0.1 (a compromised one) reports a
snapshot URL on a second listener at 127.0.0.2 that records every request it receives. The service refuses it
before connecting: the listener sees nothing (no request, no credentials), and the error names neither that
host nor how a connection there went. An allow-listed host is fetched; a body past the cap is dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import DeviceRefused, SnapshotUnavailable
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.onvif.device import OnvifTarget
from shopwatch.onvif.device_urls import check_device_url
from shopwatch.onvif.onboard import OnboardOutcome, onboard
from shopwatch.onvif.snapshot import MAX_SNAPSHOT_BYTES, DevicePolicy, OnvifSnapshots, fetch_jpeg
from shopwatch.sim.onvif.server import OnvifSimServer
from tests.onvif.conftest import PASSWORD, USER, spec

INSIDE = "127.0.0.2"  # "a host on the station's network", reachable from the service


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
