"""The simulated RTSP server, checked over loopback with PyAV as the client (what ingest uses)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import av
import pytest

from shopwatch.sim.rtsp_server import SimServer

pytestmark = pytest.mark.rtsp

Reader = Any  # the StreamReader class from conftest
FAST_OPEN = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}


def test_three_mounts_stream_at_camera_rate(
    server: SimServer, static_clip: Path, walker_clip: Path, reader: Reader
) -> None:
    urls = [server.add_camera(f"cam-0{i}", clip) for i, clip in enumerate([walker_clip, static_clip, walker_clip], 1)]
    assert urls[0] == f"rtsp://127.0.0.1:{server.port}/cam-01"
    readers = [reader(url) for url in urls]
    for r in readers:
        r.__enter__()
    try:
        for r in readers:
            got = r.packets(30)
            pts = [g.pts for g in got[1:]]  # FFmpeg's parser leaves the very first packet without pts
            assert all(b > a for a, b in zip(pts, pts[1:], strict=False)), pts
            steady = got[6:]  # the first packets may come in a burst
            fps = (len(steady) - 1) / (steady[-1].at - steady[0].at)
            assert 10.0 < fps < 14.5
    finally:
        for r in readers:
            r.__exit__()


def test_frames_decode_at_the_clip_size(server: SimServer, walker_clip: Path) -> None:
    url = server.add_camera("cam-01", walker_clip)
    with av.open(url, options={"rtsp_transport": "tcp", "timeout": "5000000"}, timeout=(10, 6)) as container:
        frames = []
        for frame in container.decode(video=0):
            frames.append(frame)
            if len(frames) == 12:
                break
    assert {(f.width, f.height) for f in frames} == {(640, 360)}
    times = [f.time for f in frames[1:]]  # FFmpeg's parser leaves the very first packet without pts
    assert all(b > a for a, b in zip(times, times[1:], strict=False))
    assert times[-1] - times[0] == pytest.approx(10 / 12, abs=0.02)


def test_drop_ends_the_client_stream_and_new_clients_are_served(
    server: SimServer, walker_clip: Path, reader: Reader
) -> None:
    url = server.add_camera("cam-01", walker_clip)
    with reader(url) as r:
        r.packets(3)
        assert server.client_count("cam-01") == 1
        server.drop("cam-01")
        assert r.wait_end(timeout_s=3) == "end"  # PyAV's demux iterator just ends
    with reader(url) as again:
        again.packets(3, timeout_s=5)


def test_hang_keeps_the_connection_but_sends_nothing_until_resume(
    server: SimServer, walker_clip: Path, reader: Reader
) -> None:
    url = server.add_camera("cam-01", walker_clip)
    with reader(url) as r:
        r.packets(3)
        server.hang("cam-01")
        assert server.is_hung("cam-01")
        time.sleep(0.4)  # what was already on the wire may still arrive
        r.drain()
        assert r.quiet_for(2.2)  # no packet, no end, no error
        assert server.client_count("cam-01") == 1 and not r.ended.is_set()
        server.resume("cam-01")
        got = r.packets(6, timeout_s=3)
    # the stream resumes at camera pace (timestamps jump over the gap, no burst of the backlog)
    assert got[-1].at - got[1].at > 0.25


def test_credentials_refuse_missing_and_wrong_passwords_with_401(
    server: SimServer, walker_clip: Path, reader: Reader
) -> None:
    server.add_camera("cam-01", walker_clip, username="admin", password="s3cret")
    base = f"127.0.0.1:{server.port}/cam-01"
    for url in (f"rtsp://{base}", f"rtsp://admin:wrong@{base}", f"rtsp://root:s3cret@{base}"):
        started = time.monotonic()
        with pytest.raises(av.error.HTTPUnauthorizedError, match="401"):
            av.open(url, options={"rtsp_transport": "tcp", "timeout": "5000000"}, timeout=(10, 6))
        assert time.monotonic() - started < 2
    with reader(f"rtsp://admin:s3cret@{base}") as r:
        r.packets(3)


def test_credentials_change_at_runtime(server: SimServer, walker_clip: Path, reader: Reader) -> None:
    url = server.add_camera("cam-01", walker_clip)
    other = server.add_camera("cam-02", walker_clip)
    server.set_credentials("cam-01", "admin", "pw-1")
    with pytest.raises(av.error.HTTPUnauthorizedError):
        av.open(url, options={"rtsp_transport": "tcp"}, timeout=(10, 6))
    with reader(other.replace("rtsp://", "rtsp://admin:pw-1@")) as r:  # credentials on an open mount are fine
        r.packets(2)
    server.set_credentials("cam-01", None, None)
    with reader(url) as r:
        r.packets(2)


def test_removed_camera_answers_404(server: SimServer, walker_clip: Path) -> None:
    url = server.add_camera("cam-01", walker_clip)
    server.remove_camera("cam-01")
    with pytest.raises(av.error.HTTPNotFoundError):
        av.open(url, options={"rtsp_transport": "tcp"}, timeout=(10, 6))
    with pytest.raises(KeyError, match="no simulated camera 'cam-01'"):
        server.hang("cam-01")


@pytest.mark.parametrize(
    ("camera_id", "clip", "error"),
    [
        ("cam 01", None, ValueError),
        ("", None, ValueError),
        ("cam-09", Path("/nonexistent/clip.h264"), FileNotFoundError),
        ("cam-01", None, ValueError),  # already mounted
    ],
)
def test_add_camera_refuses(
    server: SimServer, walker_clip: Path, camera_id: str, clip: Path | None, error: type[Exception]
) -> None:
    server.add_camera("cam-01", walker_clip)
    with pytest.raises(error):
        server.add_camera(camera_id, clip or walker_clip)


def test_stop_is_bounded_and_frees_the_port(walker_clip: Path, reader: Reader) -> None:
    first = SimServer()
    first.start()
    port = first.port
    url = first.add_camera("cam-01", walker_clip)
    with reader(url) as r:
        r.packets(2)
        started = time.monotonic()
        first.stop()
        assert time.monotonic() - started < 2
        assert r.wait_end(timeout_s=3) == "end"
    with SimServer(port=port) as second:  # the same port binds again at once
        with reader(second.add_camera("cam-01", walker_clip)) as r:
            r.packets(2)


def test_a_taken_port_is_an_oserror(server: SimServer) -> None:
    with pytest.raises(OSError, match=str(server.port)):
        SimServer(port=server.port).start()


def test_a_client_that_connects_while_hung_gets_nothing_until_resume(
    server: SimServer, walker_clip: Path, reader: Reader
) -> None:
    url = server.add_camera("cam-01", walker_clip)
    server.hang("cam-01")
    with reader(url) as r:
        assert r.quiet_for(2.0)
        server.resume("cam-01")
        r.packets(3, timeout_s=3)


def test_rapid_reconnects_are_always_served(server: SimServer, walker_clip: Path) -> None:
    # A shared media that unprepares as its last client leaves must not answer the next client with 503.
    url = server.add_camera("cam-01", walker_clip)
    started = time.monotonic()
    for _ in range(8):
        with av.open(url, options=FAST_OPEN, timeout=(10, 6)) as container:
            next(container.demux(video=0))
    assert time.monotonic() - started < 8 * 0.5
