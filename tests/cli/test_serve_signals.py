"""Starting and stopping ``shopwatch serve`` as a user at a terminal does: Ctrl-C (SIGINT to the whole process
group, workers included) stops the service in order, without a ``KeyboardInterrupt`` traceback from any process;
third-party libraries' INFO lines do not bury the start-up banner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from shopwatch.sim.faults import closed_port

WORKERS = 2


def wait_for_text(path: Path, text: str, count: int, timeout_s: float, proc: subprocess.Popen[bytes]) -> str:
    deadline = time.monotonic() + timeout_s
    while True:
        content = path.read_text(errors="replace")
        if content.count(text) >= count:
            return content
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"expected {count} x {text!r} in {path.name} within {timeout_s} s; found:\n{content}")
        time.sleep(0.1)


@pytest.mark.parametrize("when", ["workers running", "workers starting"])
def test_ctrl_c_stops_serve_and_its_workers_without_a_traceback(tmp_path: Path, when: str) -> None:
    cameras = [
        {"id": f"cam-{i}", "name": f"shop {i}", "grid": "g1", "host": "127.0.0.1",
         "streams": {"detect": f"rtsp://127.0.0.1:{closed_port()}/stream"}}
        for i in range(WORKERS)
    ]  # fmt: skip
    config = tmp_path / "shopwatch.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "service": {"data_dir": str(tmp_path / "data"), "log_level": "info"},
                "api": {"port": 0},
                "ingest": {"cameras_per_worker": 1},
                "cameras": cameras,
            }
        )
    )
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    command = [sys.executable, "-c", "from shopwatch.cli.main import main; main()", "serve", "--config", str(config)]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        # A session of its own, as a terminal's foreground job is a process group of its own: Ctrl-C goes to
        # the group (the service and its workers), never to the test runner.
        proc = subprocess.Popen(command, stdout=stdout, stderr=stderr, start_new_session=True, cwd=tmp_path)
        try:
            wait_for_text(out, "is up", 1, 60.0, proc)  # workers are spawned by then, maybe still importing
            if when == "workers running":
                wait_for_text(err, "shopwatch.ingest.worker: worker", WORKERS, 30.0, proc)  # "worker N: 1 cameras"
            os.killpg(proc.pid, signal.SIGINT)
            code = proc.wait(30.0)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5.0)
    stderr_text = err.read_text(errors="replace")
    assert code == 0, stderr_text
    assert "Traceback" not in stderr_text and "KeyboardInterrupt" not in stderr_text, stderr_text
    if when == "workers running":  # they did log: their silence at Ctrl-C is not for want of a voice
        assert stderr_text.count("shopwatch.ingest.worker: worker") >= WORKERS
    # Third-party INFO (uvicorn's "Started server process", httpx requests) stays out of the start-up output.
    assert "uvicorn" not in stderr_text and "Started server process" not in stderr_text, stderr_text
