"""The backchannel probe (one DESCRIBE with the ONVIF backchannel tag) against real RTSP servers on loopback:
GStreamer's ONVIF server with and without a backchannel, and the simulated camera server with a login."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shopwatch.rtsp.messages import RtspResponse
from shopwatch.sim.backchannel import BackchannelServer
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.faults import GarbageServer, closed_port
from shopwatch.sim.rtsp_server import SimServer
from shopwatch.talkback.speakers.rtsp.probe import BackchannelProbe, probe_backchannel

pytestmark = pytest.mark.rtsp


@pytest.fixture(scope="module")
def peer() -> Iterator[BackchannelServer]:
    with BackchannelServer() as server:
        yield server


@pytest.mark.parametrize(("mount", "codec"), [("pcmu", "PCMU/8000"), ("pcma", "PCMA/8000")])
async def test_a_backchannel_mount_offers_its_codec(peer: BackchannelServer, mount: str, codec: str) -> None:
    offer = await probe_backchannel(peer.url(mount), "", "", timeout_s=5.0)
    assert (offer.offered, offer.codecs) == (True, (codec,))
    assert not {"SETUP", "PLAY"} & set(peer.requests())  # no session set up, nothing played


async def test_a_mount_without_backchannel_says_no(peer: BackchannelServer) -> None:
    offer = await probe_backchannel(peer.url("nobc"), "", "", timeout_s=5.0)
    assert (offer.offered, offer.codecs) == (False, ())
    assert "551" in offer.detail


async def test_a_plain_rtsp_camera_with_a_login_says_no(tmp_path: Path) -> None:
    clip = generate_clip(ClipSpec("static", seconds=2.0), tmp_path)
    with SimServer() as server:
        server.add_camera("shop", clip, username="admin", password="probe-secret")
        url = server.url("shop")
        good = await probe_backchannel(url, "admin", "probe-secret", timeout_s=5.0)
        in_url = await probe_backchannel(url.replace("rtsp://", "rtsp://admin:probe-secret@"), "", "", timeout_s=5.0)
    # GStreamer's plain RTSP server (no ONVIF) refuses the Require tag (551), before it asks for the login.
    assert good.offered is False and in_url.offered is False
    assert all("secret" not in offer.detail for offer in (good, in_url))


async def test_unreachable_and_garbage_cannot_tell() -> None:
    refused = await probe_backchannel(f"rtsp://127.0.0.1:{closed_port()}/x", "", "", timeout_s=2.0)
    assert refused.offered is None and "cannot connect" in refused.detail
    with GarbageServer() as garbage:
        odd = await probe_backchannel(f"rtsp://127.0.0.1:{garbage.port}/x", "", "", timeout_s=2.0)
    assert odd.offered is None and odd.detail


def test_the_core_asks_with_the_tag_and_ignores_stale_answers() -> None:
    probe = BackchannelProbe("rtsp://user:s3cr3t@cam.local/stream", None)
    request = probe.start().decode()
    assert request.startswith("DESCRIBE rtsp://cam.local/stream RTSP/1.0\r\n")
    assert "Require: www.onvif.org/ver20/backchannel\r\n" in request and "s3cr3t" not in request
    assert probe.handle(RtspResponse(200, "OK", {"cseq": ["7"]})) is None and probe.result is None
    assert probe.handle(RtspResponse(404, "Not Found", {"cseq": ["1"]})) is None
    assert probe.result is not None and probe.result.offered is None and "404" in probe.result.detail


def test_the_core_signs_once_after_a_challenge_then_gives_up() -> None:
    from shopwatch.rtsp.digest import DigestSigner

    probe = BackchannelProbe("rtsp://cam.local/stream", DigestSigner("admin", "pw-123"))
    probe.start()
    challenge = {"cseq": ["1"], "www-authenticate": ['Digest realm="cam", nonce="abc123"']}
    signed = probe.handle(RtspResponse(401, "Unauthorized", challenge))
    assert signed is not None and b"Authorization: Digest username=\"admin\"" in signed and b"pw-123" not in signed
    assert probe.handle(RtspResponse(401, "Unauthorized", {**challenge, "cseq": ["2"]})) is None
    assert probe.result is not None and probe.result.offered is None
    assert "credentials were refused" in probe.result.detail
