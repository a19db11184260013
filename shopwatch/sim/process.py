"""``SimProcess``: a simulated fleet in a child process, for tests that kill the server and bring it back.

``kill()`` is SIGKILL: every connection drops without a TEARDOWN, as when a camera loses power. ``start()``
after that binds the same port again, so clients can reconnect to the URLs they had.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

READY_PREFIX = "READY "


class SimProcess:
    """``python -m shopwatch.sim`` as a child process. ``port=0``: any free port on the first start."""

    def __init__(
        self,
        cameras: int,
        clips_dir: Path,
        *,
        port: int = 0,
        walker_every: int = 5,
        username: str | None = None,
        password: str | None = None,
        fps: int = 12,
    ) -> None:
        self._args = ["--cameras", str(cameras), "--clips-dir", str(clips_dir), "--walker-every", str(walker_every)]
        self._args += ["--fps", str(fps)]
        if username is not None:
            self._args += ["--username", username, "--password", password or ""]
        self._port = port
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None  # a file, not a pipe: a chatty child must never block on it

    def start(self, timeout_s: float = 30.0) -> None:
        """Start the child and wait (at most ``timeout_s``) for its READY line; reuses the port of a former run."""
        if self.running:
            raise RuntimeError("SimProcess already running")
        cmd = [sys.executable, "-m", "shopwatch.sim", *self._args, "--port", str(self._port)]
        self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._stderr, text=True, env=env)
        line = self._read_ready_line(timeout_s)
        if not line.startswith(READY_PREFIX):
            self.kill()
            err = self.stderr_text()
            raise RuntimeError(f"expected 'READY rtsp://...' from shopwatch.sim, found {line!r}; stderr: {err[-800:]}")
        url = line[len(READY_PREFIX) :].strip()
        self._port = int(url.rsplit(":", 1)[1].strip("/"))

    def kill(self) -> None:
        """SIGKILL the server: connections drop at once, nothing is closed cleanly."""
        if self._proc is not None:
            self._proc.kill()
            self._proc.wait(5)
            self._close_pipes()
            self._proc = None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM and wait for a clean exit; SIGKILL if it does not come within ``timeout_s``."""
        if self._proc is None:
            return
        self._proc.send_signal(signal.SIGTERM)
        try:
            self._proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait(5)
        self._close_pipes()
        self._proc = None

    def __enter__(self) -> SimProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def port(self) -> int:
        if not self._port:
            raise RuntimeError("SimProcess has not started yet")
        return self._port

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def url(self, camera_id: str) -> str:
        return f"rtsp://127.0.0.1:{self.port}/{camera_id}"

    def _read_ready_line(self, timeout_s: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                if selector.select(timeout=min(left, 0.2)):
                    return self._proc.stdout.readline()  # the child writes the whole line at once
                if self._proc.poll() is not None:
                    return ""
        return f"(nothing within {timeout_s} s)"

    def stderr_text(self) -> str:
        """What the latest child wrote to stderr (diagnostics for a failed test)."""
        if self._stderr is None:
            return ""
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()

    def _close_pipes(self) -> None:
        assert self._proc is not None
        if self._proc.stdout is not None:
            self._proc.stdout.close()
