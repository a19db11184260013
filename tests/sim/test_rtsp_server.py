"""The simulated RTSP server, checked over loopback with PyAV as the client (what ingest uses)."""

from __future__ import annotations

import ipaddress
import itertools
import os
import random
import re
import select
import socket
import subprocess
import sys
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


# UDP transport ---------------------------------------------------------------------------------------------

UDP_OPEN = {"rtsp_transport": "udp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}
# A UDP client in its own process, so every UDP socket of this process is the server's.
UDP_CLIENT = """
import sys, av
options = {"rtsp_transport": "udp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}
with av.open(sys.argv[1], options=options, timeout=(10, 6)) as container:
    pts = []
    for packet in container.demux(video=0):
        if packet.size and packet.pts is not None:
            pts.append(packet.pts)
        if len(pts) == 6:
            break
    print(*pts, flush=True)
    sys.stdin.readline()  # the session stays set up until the test has looked at the sockets
"""


def udp_sockets_of_this_process() -> set[tuple[str, int]]:
    """Local (address, port) of every UDP socket this process holds, IPv4 and IPv6, from /proc."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found = set()
    for table in ("/proc/net/udp", "/proc/net/udp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[9] in inodes:
                address_hex, port_hex = fields[1].split(":")
                raw = bytes.fromhex(address_hex)  # host-order 32-bit words (little-endian here)
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
                found.add((str(ipaddress.ip_address(words)), int(port_hex, 16)))
    return found


def read_packets(container: av.container.InputContainer, count: int) -> list[av.Packet]:
    return list(itertools.islice((p for p in container.demux(video=0) if p.size), count))


def test_a_udp_client_is_served_from_sockets_on_loopback_only(server: SimServer, walker_clip: Path) -> None:
    url = server.add_camera("cam-01", walker_clip)
    before = udp_sockets_of_this_process()
    with subprocess.Popen(
        [sys.executable, "-c", UDP_CLIENT, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as client:
        assert client.stdin is not None and client.stdout is not None
        try:
            ready, _, _ = select.select([client.stdout], [], [], 15)
            assert ready, "expected the UDP client to print timestamps within 15 s"
            pts = [int(word) for word in client.stdout.readline().split()]
            opened = udp_sockets_of_this_process() - before
            served_from = server.udp_addresses("cam-01")
        finally:
            client.communicate(input="\n", timeout=10)
    assert client.returncode == 0
    assert len(pts) == 6 and all(b > a for a, b in zip(pts, pts[1:], strict=False)), pts
    # The RTP/RTCP pair (one per mount), bound to 127.0.0.1 and nothing else: not 0.0.0.0, not ::
    assert len(opened) == 2 and {address for address, _ in opened} == {"127.0.0.1"}, opened
    assert sorted(opened) == sorted(served_from)
    rtp, rtcp = sorted(port for _, port in opened)
    assert rtp % 2 == 0 and rtcp == rtp + 1


def _hold_free_ports(count: int) -> tuple[int, list[socket.socket]]:
    """``count`` consecutive free UDP ports on 127.0.0.1 from an even one, all bound by the returned sockets."""
    rng = random.Random()
    for _ in range(100):
        first = rng.randrange(10_000, 19_990, 2)  # away from the servers' default range and the ephemeral one
        held: list[socket.socket] = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                held.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            for sock in held:
                sock.close()
            continue
        return first, held
    raise AssertionError(f"expected {count} consecutive free UDP ports in 10000-19999, found none in 100 tries")


def test_taken_udp_ports_are_skipped_and_servers_sharing_a_range_do_not_collide(walker_clip: Path) -> None:
    first, held = _hold_free_ports(6)
    for sock in held[2:]:
        sock.close()  # another process keeps the first pair
    ports = (first, first + 5)
    try:
        with SimServer(udp_ports=ports) as one, SimServer(udp_ports=ports) as two:
            urls = [one.add_camera("cam-01", walker_clip), two.add_camera("cam-01", walker_clip)]
            with (
                av.open(urls[0], options=UDP_OPEN, timeout=(10, 6)) as a,
                av.open(urls[1], options=UDP_OPEN, timeout=(10, 6)) as b,
            ):
                assert len(read_packets(a, 3)) == len(read_packets(b, 3)) == 3
                served = [sorted(one.udp_addresses("cam-01")), sorted(two.udp_addresses("cam-01"))]
    finally:
        held[0].close()
        held[1].close()
    assert sorted(served) == [
        [("127.0.0.1", first + 2), ("127.0.0.1", first + 3)],
        [("127.0.0.1", first + 4), ("127.0.0.1", first + 5)],
    ]


def test_drop_ends_a_udp_client_stream_and_it_is_served_again(server: SimServer, walker_clip: Path) -> None:
    url = server.add_camera("cam-01", walker_clip)
    with av.open(url, options=UDP_OPEN, timeout=(10, 6)) as container:
        demux = container.demux(video=0)
        next(demux)
        server.drop("cam-01")
        started = time.monotonic()
        rest = sum(1 for _ in demux)  # the iterator ends: FFmpeg watches the RTSP connection too
        assert time.monotonic() - started < 1.0 and rest < 6
    with av.open(url, options=UDP_OPEN, timeout=(10, 6)) as again:
        assert len(read_packets(again, 2)) == 2


def test_udp_false_serves_tcp_only(walker_clip: Path) -> None:
    with SimServer(udp=False) as server:
        url = server.add_camera("cam-01", walker_clip)
        assert not server.udp
        with pytest.raises(OSError, match="Protocol not supported"):  # RTSP 461 Unsupported Transport
            av.open(url, options=UDP_OPEN, timeout=(10, 6))
        with av.open(url, options=FAST_OPEN, timeout=(10, 6)) as container:
            assert len(read_packets(container, 2)) == 2
        assert server.udp_addresses("cam-01") == []


@pytest.mark.parametrize(
    ("host", "udp_ports", "message"),
    [
        ("localhost", (20000, 20099), "expected an IP address, found 'localhost'"),
        ("127.0.0.1", (20001, 20099), "found (20001, 20099)"),  # RTP takes the even port
        ("127.0.0.1", (20000, 20000), "found (20000, 20000)"),  # room for no pair
        ("127.0.0.1", (100, 200), "found (100, 200)"),
    ],
)
def test_udp_settings_are_checked_on_construction(host: str, udp_ports: tuple[int, int], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        SimServer(host, udp_ports=udp_ports)
    SimServer(host, udp=False, udp_ports=udp_ports)  # TCP only: neither is used
