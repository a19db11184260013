"""``python -m shopwatch.sim`` in a child process: READY line, SIGKILL ends client streams, same-port restart."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import av
import pytest

from shopwatch.sim.process import SimProcess

pytestmark = pytest.mark.rtsp

OPTIONS = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}


def first_packet(url: str) -> None:
    with av.open(url, options=OPTIONS, timeout=(10, 6)) as container:
        assert next(container.demux(video=0)).size > 0


def test_kill_ends_the_stream_and_a_restart_serves_the_same_urls(clips_dir: Path, reader: Any) -> None:
    sim = SimProcess(cameras=3, clips_dir=clips_dir)
    sim.start()
    try:
        port = sim.port
        with reader(sim.url("cam-02")) as r:
            r.packets(3)
            sim.kill()
            assert not sim.running
            assert r.wait_end(timeout_s=3) == "end"  # PyAV: the demux iterator just ends
        with pytest.raises(av.error.ConnectionRefusedError):
            first_packet(sim.url("cam-02"))
        sim.start()
        assert sim.port == port
        first_packet(sim.url("cam-02"))
    finally:
        sim.stop()


def test_stop_is_clean_and_credentials_pass_through(clips_dir: Path) -> None:
    sim = SimProcess(cameras=2, clips_dir=clips_dir, username="admin", password="pw-123")
    sim.start()
    proc_pid = sim.pid
    try:
        with pytest.raises(av.error.HTTPUnauthorizedError):
            first_packet(sim.url("cam-01"))
        first_packet(sim.url("cam-01").replace("rtsp://", "rtsp://admin:pw-123@"))
    finally:
        started = time.monotonic()
        sim.stop()
    assert time.monotonic() - started < 5 and proc_pid is not None and not sim.running


def test_module_prints_exactly_one_ready_line_and_exits_zero_on_sigterm(clips_dir: Path, tmp_path: Path) -> None:
    config = tmp_path / "fleet.yaml"
    cmd = [sys.executable, "-m", "shopwatch.sim", "--cameras", "2", "--port", "0", "--clips-dir", str(clips_dir)]
    proc = subprocess.Popen([*cmd, "--write-config", str(config)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # bounded by the test timeout; READY comes within seconds
        assert line.startswith("READY rtsp://127.0.0.1:") and line.endswith("/\n")
        assert config.exists()
        proc.terminate()
        assert proc.wait(10) == 0
        assert proc.stdout.read() == ""  # nothing but the READY line on stdout
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_a_port_in_use_fails_start_with_the_childs_error(clips_dir: Path) -> None:
    with SimProcess(cameras=1, clips_dir=clips_dir) as first:
        second = SimProcess(cameras=1, clips_dir=clips_dir, port=first.port)
        with pytest.raises(RuntimeError, match="expected 'READY"):
            second.start(timeout_s=20)
        assert not second.running


def test_a_fleet_served_at_a_lower_frame_rate_sends_that_many_pictures_per_second(clips_dir: Path) -> None:
    with SimProcess(cameras=1, clips_dir=clips_dir, fps=2) as sim:
        with av.open(sim.url("cam-01"), options=OPTIONS, timeout=(10, 6)) as container:
            stream = container.streams.video[0]
            timed = (p for p in container.demux(stream) if p.pts is not None and p.size)
            pts = [float(p.pts * p.time_base) for p in itertools.islice(timed, 5)]
    assert [round(b - a, 3) for a, b in zip(pts, pts[1:], strict=False)] == [0.5] * 4
