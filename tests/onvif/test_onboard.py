"""Onboarding against the device simulator and ipycam: profiles picked, URIs, outcomes of every failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopwatch.onvif.device import OnvifTarget
from shopwatch.onvif.onboard import OnboardOutcome, onboard
from shopwatch.onvif.registry import CameraIdentity, save_onboarded
from shopwatch.sim.faults import GarbageServer, closed_port
from shopwatch.sim.onvif.device import SimProfile
from shopwatch.sim.onvif.server import OnvifSimServer
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.db import create_engine_for, migrate
from tests.onvif.conftest import PASSWORD, RTSP, USER, IpyCamPeer, spec

TIMEOUT = dict(timeout_s=5.0, clock_tolerance_s=5.0)


def target_of(device_url: str, password: str = PASSWORD) -> OnvifTarget:
    host, port = device_url.removeprefix("http://").rsplit(":", 1)
    return OnvifTarget(host, int(port), USER, password)


@pytest.mark.parametrize("media2", [True, False], ids=["media2", "media1"])
async def test_onboard_picks_substream_for_detection_and_main_for_recording(
    onvif_sim: OnvifSimServer, media2: bool
) -> None:
    device = onvif_sim.add_device(spec(media2=media2))
    report = await onboard(target_of(device.base_url), **TIMEOUT)
    assert report.outcome is OnboardOutcome.OK, report.detail
    found = report.findings
    assert found is not None
    assert found.media == ("media2" if media2 else "media")
    assert (found.choice.detect.token, found.choice.record.token) == ("sub", "main")
    assert found.detect_url == RTSP and found.record_url == RTSP + "/main"
    assert found.snapshot_url == f"{device.base_url}/snapshot/sub.jpg"
    assert found.backchannel and found.audio_outputs == 1 and found.events
    assert (found.info.manufacturer, found.info.model) == ("Shopwatch Sim", "SW-IPC-1")
    assert PASSWORD not in repr(report)


async def test_h265_only_camera_is_accepted_and_reported(onvif_sim: OnvifSimServer) -> None:
    profiles = (
        SimProfile("main", "Main", 2560, 1440, RTSP + "/main", encoding="H265"),
        SimProfile("sub", "Sub", 704, 576, RTSP, encoding="H265"),
    )
    device = onvif_sim.add_device(spec(profiles=profiles))
    report = await onboard(target_of(device.base_url), **TIMEOUT)
    assert report.outcome is OnboardOutcome.OK
    assert report.findings is not None and report.findings.choice.detect.token == "sub"
    assert "H.265" in report.detail


async def test_h264_preferred_over_a_smaller_h265(onvif_sim: OnvifSimServer) -> None:
    profiles = (
        SimProfile("h265small", "A", 640, 360, RTSP + "/a", encoding="H265"),
        SimProfile("h264", "B", 1280, 720, RTSP + "/b"),
    )
    device = onvif_sim.add_device(spec(profiles=profiles))
    report = await onboard(target_of(device.base_url), **TIMEOUT)
    assert report.findings is not None and report.findings.choice.detect.token == "h264"


async def test_only_mjpeg_means_no_usable_stream(onvif_sim: OnvifSimServer) -> None:
    device = onvif_sim.add_device(spec(profiles=(SimProfile("m", "M", 640, 480, RTSP, encoding="JPEG"),)))
    report = await onboard(target_of(device.base_url), **TIMEOUT)
    assert report.outcome is OnboardOutcome.NO_USABLE_STREAM
    assert "JPEG 640x480" in report.detail


async def test_wrong_password_is_auth_refused_and_not_echoed(onvif_sim: OnvifSimServer) -> None:
    device = onvif_sim.add_device(spec())
    report = await onboard(target_of(device.base_url, password="wrong-guess"), **TIMEOUT)
    assert report.outcome is OnboardOutcome.AUTH_REFUSED
    assert "wrong-guess" not in report.detail


async def test_clock_skew_detected_and_login_retried_with_the_device_offset(onvif_sim: OnvifSimServer) -> None:
    device = onvif_sim.add_device(spec(skew_s=3600.0))
    report = await onboard(target_of(device.base_url), **TIMEOUT)
    assert report.outcome is OnboardOutcome.OK, report.detail
    assert report.offset_applied
    assert report.skew_s is not None and abs(report.skew_s - 3600) < 3
    assert "device clock +3599 s off" in report.detail or "device clock +3600 s off" in report.detail
    assert device.counters.auth_refused >= 1  # the first attempt, with our own time, was refused


async def test_skewed_device_with_wrong_password_reports_clock_skew(onvif_sim: OnvifSimServer) -> None:
    device = onvif_sim.add_device(spec(skew_s=-7200.0))
    report = await onboard(target_of(device.base_url, password="nope"), **TIMEOUT)
    assert report.outcome is OnboardOutcome.CLOCK_SKEW
    assert report.skew_s is not None and report.skew_s < -7000


async def test_unreachable_and_not_onvif() -> None:
    report = await onboard(OnvifTarget("127.0.0.1", closed_port(), USER, PASSWORD), **TIMEOUT)
    assert report.outcome is OnboardOutcome.UNREACHABLE
    with GarbageServer(payload=b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n<html></html>") as garbage:
        report = await onboard(OnvifTarget("127.0.0.1", garbage.port, USER, PASSWORD), **TIMEOUT)
    assert report.outcome is OnboardOutcome.NOT_ONVIF


async def test_onboard_ipycam(ipycam: IpyCamPeer) -> None:
    report = await onboard(OnvifTarget("127.0.0.1", ipycam.port, USER, PASSWORD), **TIMEOUT)
    assert report.outcome is OnboardOutcome.OK, report.detail
    found = report.findings
    assert found is not None and found.media == "media"
    assert (found.choice.detect.width, found.choice.record.width) == (640, 1920)
    assert found.detect_url.endswith("/video_sub") and found.record_url.endswith("/video_main")
    assert found.snapshot_url == f"http://127.0.0.1:{ipycam.port}/snapshot.jpg"
    assert not found.backchannel and found.audio_outputs == 0 and not found.events
    assert found.info.manufacturer == "PythonCam"


async def test_ipycam_wrong_password(ipycam: IpyCamPeer) -> None:
    report = await onboard(OnvifTarget("127.0.0.1", ipycam.port, USER, "bad"), **TIMEOUT)
    assert report.outcome is OnboardOutcome.AUTH_REFUSED


@pytest.mark.rtsp
@pytest.mark.parametrize(
    ("mount", "profile_audio", "expected"),
    [("pcma", False, True), ("nobc", True, False)],
    ids=["stream-offers-it", "profile-claims-it-stream-refuses"],
)
async def test_the_stream_says_whether_a_backchannel_exists(
    onvif_sim: OnvifSimServer, mount: str, profile_audio: bool, expected: bool, tmp_path: Path
) -> None:
    from shopwatch.sim.backchannel import BackchannelServer

    with BackchannelServer() as peer:
        url = peer.url(mount)
        profiles = (
            SimProfile("main", "Main", 1280, 720, url),
            SimProfile("sub", "Sub", 640, 360, url, audio_output=profile_audio),
        )
        device = onvif_sim.add_device(spec(profiles=profiles, audio_outputs=0))
        report = await onboard(target_of(device.base_url), **TIMEOUT)
        requests = peer.requests()
    assert report.outcome is OnboardOutcome.OK and report.findings is not None, report.detail
    offer = report.findings.rtsp_backchannel
    assert (offer.offered, report.findings.backchannel) == (expected, expected)
    assert offer.codecs == (("PCMA/8000",) if expected else ())
    assert "SETUP" not in requests and "PLAY" not in requests  # asked, never talked
    assert "audio backchannel" in report.detail  # the profiles and the stream disagree: reported
    engine = create_engine_for(f"sqlite:///{tmp_path / 'registry.db'}")
    migrate(engine)
    repo = CameraRepository(engine, env={})
    save_onboarded(repo, target_of(device.base_url), report.findings, CameraIdentity("shop", grid="g1"))
    camera = repo.get("shop")
    engine.dispose()
    assert camera is not None and camera.onvif is not None  # no audio outputs: the stream alone decides
    assert (camera.onvif.backchannel, camera.talkback.capable) == (expected, expected)
