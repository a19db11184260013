"""The light simulator engine (``light_rtsp.py``) against independent clients: FFmpeg's RTSP demuxer (PyAV),
the project's FFmpeg and native readers, and raw RTSP requests for what it refuses."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from shopwatch.core.health import CameraState
from shopwatch.rtsp.messages import NEED_DATA, InterleavedFrame, RtspReader, RtspRequest, RtspResponse
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.light_rtsp import MAX_PAYLOAD, LightServer, packetize
from tests.ingest.test_reader import Readers, camera, in_state, start, wait_for
from tests.ingest.test_reader import readers as readers  # noqa: F401 (the fixture, both reader kinds)
from tests.sim.conftest import PYAV_OPTIONS

pytestmark = pytest.mark.rtsp
FPS = 12
PASSWORD = "s3cret-Pa55"


@pytest.fixture(scope="module")
def short_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One second, 12 frames, one keyframe: a client reading 30 frames sees the loop twice."""
    return generate_clip(ClipSpec("static", fps=FPS, gop=FPS, seconds=1.0), tmp_path_factory.mktemp("light"))


@pytest.fixture
def light() -> Iterator[LightServer]:
    with LightServer(fps=FPS) as server:
        yield server


def test_a_clip_is_packetized_into_its_pictures_with_parameter_sets_before_every_keyframe(static_clip: Path) -> None:
    clip = packetize(static_clip.read_bytes())
    with av.open(str(static_clip)) as container:
        keyframes = [packet.is_keyframe for packet in container.demux(video=0) if packet.size]
    assert len(clip.frames) == len(keyframes)
    for frame, keyframe in zip(clip.frames, keyframes, strict=True):
        payloads = []
        for n, offset in enumerate(frame.header_offsets):
            length = struct.unpack_from("!H", frame.data, offset - 2)[0]
            assert frame.data[offset - 4 : offset - 2] == b"$\x00" and 12 < length <= 12 + MAX_PAYLOAD
            assert bool(frame.data[offset + 1] & 0x80) == (n == len(frame.header_offsets) - 1)  # marker: last
            payloads.append(frame.data[offset + 12 : offset + length])
        kinds = [p[0] & 0x1F if p[0] & 0x1F != 28 else p[1] & 0x1F for p in payloads]
        assert (kinds[:3] == [7, 8, 5]) if keyframe else (5 not in kinds and 1 in kinds)


def test_ffmpeg_plays_a_mount_at_the_served_rate_and_size_with_timestamps_continuous_across_the_loop(
    light: LightServer, short_clip: Path
) -> None:
    url = light.add_camera("cam-01", short_clip)
    opened = time.monotonic()
    with av.open(url, options=PYAV_OPTIONS, timeout=(10.0, 6.0)) as container:
        stream = container.streams.video[0]
        pts: list[int] = []
        sizes = set()
        for packet in container.demux(stream):
            if packet.pts is not None:
                pts.append(packet.pts)
            sizes |= {(f.width, f.height) for f in packet.decode()}
            if len(pts) >= 2.5 * FPS:
                break
        elapsed = time.monotonic() - opened
    assert sizes == {(640, 360)}
    assert stream.time_base is not None and stream.time_base.denominator == 90_000
    assert {b - a for a, b in zip(pts, pts[1:], strict=False)} == {90_000 // FPS}  # 30 frames: the loop, twice
    assert len(pts) / FPS - 0.3 < elapsed < len(pts) / FPS + 1.0  # served at --fps, not as fast as it can
    assert light.dropped_frames == 0


def test_both_project_readers_go_online_on_a_light_mount_with_a_login(
    light: LightServer, static_clip: Path, readers: Readers
) -> None:
    url = light.add_camera("cam-02", static_clip, username="admin", password=PASSWORD)
    reader = start(readers, camera(url, username="admin", password=PASSWORD))
    health = wait_for("online", in_state(reader, CameraState.ONLINE), 5.0)
    assert health.stream is not None and (health.stream.width, health.stream.height) == (640, 360)
    wrong = start(readers, camera(url, username="admin", password="wrong"))
    refused = wait_for("a refused login", lambda: wrong.health().last_error, 5.0)
    assert refused and wrong.health().state is not CameraState.ONLINE


def _exchange(sock: socket.socket, reader: RtspReader, request: RtspRequest) -> RtspResponse:
    sock.sendall(bytes(request))
    sock.settimeout(5.0)
    while True:
        event = reader.next_event()
        if isinstance(event, RtspResponse):
            return event
        if event is NEED_DATA:
            reader.receive_data(sock.recv(65536))
            assert not reader.closed, "the server closed the connection"
        else:
            assert isinstance(event, InterleavedFrame)


def test_udp_unknown_mounts_and_missing_logins_are_refused_with_their_status(
    light: LightServer, static_clip: Path
) -> None:
    url = light.add_camera("cam-03", static_clip)
    locked = light.add_camera("cam-04", static_clip, username="admin", password=PASSWORD)
    with socket.create_connection((light.host, light.port), timeout=5.0) as sock:
        reader = RtspReader()
        udp = (("CSeq", "1"), ("Transport", "RTP/AVP;unicast;client_port=5000-5001"))
        assert _exchange(sock, reader, RtspRequest("SETUP", f"{url}/stream=0", udp)).status == 461
        missing = _exchange(sock, reader, RtspRequest("DESCRIBE", f"{url}-nope", (("CSeq", "2"),)))
        assert missing.status == 404
        refused = _exchange(sock, reader, RtspRequest("DESCRIBE", locked, (("CSeq", "3"),)))
        assert refused.status == 401 and (refused.header("www-authenticate") or "").startswith("Basic ")
        assert _exchange(sock, reader, RtspRequest("PLAY", url, (("CSeq", "4"), ("Session", "x")))).status == 454


def test_a_client_that_stops_reading_loses_frames_while_others_keep_their_rate(short_clip: Path) -> None:
    with LightServer(fps=FPS, send_buffer_bytes=16_384) as light:
        _stuck_and_healthy(light, light.add_camera("cam-05", short_clip))


def _stuck_and_healthy(light: LightServer, url: str) -> None:
    with socket.socket() as stuck:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect((light.host, light.port))
        reader = RtspReader()
        tcp = (("CSeq", "1"), ("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1"))
        setup = _exchange(stuck, reader, RtspRequest("SETUP", f"{url}/stream=0", tcp))
        session = (setup.header("session") or "").partition(";")[0]
        assert _exchange(stuck, reader, RtspRequest("PLAY", url, (("CSeq", "2"), ("Session", session)))).status == 200
        # never read again: its socket buffers fill, then the server drops its frames instead of waiting
        wait_for("dropped frames", lambda: light.dropped_frames > 0, 10.0, step_s=0.1)
        with av.open(url, options=PYAV_OPTIONS, timeout=(10.0, 6.0)) as container:
            started = time.monotonic()
            got = 0
            for packet in container.demux(video=0):
                got += packet.pts is not None
                if got >= 2 * FPS:
                    break
            assert time.monotonic() - started < 2.0 + 1.0
        assert stuck.recv(1) == b"$"  # still connected: only frames were dropped
