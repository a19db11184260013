"""Clips shared by every sim test (generated once per session) and a PyAV client run in a thread."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import pytest

from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.rtsp_server import SimServer

# How ingest opens a camera (INGEST_FACTS.md): TCP, no probing, 5 s socket timeout.
PYAV_OPTIONS = {"rtsp_transport": "tcp", "analyzeduration": "0", "probesize": "32", "timeout": "5000000"}
SHORT = 10.0  # seconds; short clips keep generation fast, still within the 10-20 s the server is sized for


@pytest.fixture(scope="session")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sim-clips")


@pytest.fixture(scope="session")
def static_clip(clips_dir: Path) -> Path:
    return generate_clip(ClipSpec("static", seconds=SHORT), clips_dir)


@pytest.fixture(scope="session")
def walker_clip(clips_dir: Path) -> Path:
    return generate_clip(ClipSpec("walker", seconds=SHORT), clips_dir)


@pytest.fixture
def server() -> Iterator[SimServer]:
    with SimServer() as sim:
        yield sim


def open_stream(url: str, timeout: tuple[float, float] = (10.0, 6.0)) -> av.container.InputContainer:
    return av.open(url, options=PYAV_OPTIONS, timeout=timeout)


@dataclass(frozen=True)
class Got:
    at: float  # time.monotonic() when the packet came out of demux
    pts: int | None
    size: int


class StreamReader:
    """Demuxes one RTSP URL in a thread and queues what it got: ``Got`` packets, then ``"end"`` or the error.

    ``ended`` and ``error`` tell how the stream finished; every wait is bounded.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.items: queue.Queue[Got | str | BaseException] = queue.Queue(maxsize=10_000)
        self.error: BaseException | None = None
        self.ended = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"reader {url}")

    def __enter__(self) -> StreamReader:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(12)

    def _run(self) -> None:
        try:
            with open_stream(self.url) as container:
                for packet in container.demux(container.streams.video[0]):
                    if self._stop.is_set():
                        return
                    if packet.size:
                        self.items.put(Got(time.monotonic(), packet.pts, packet.size))
            self.items.put("end")
        except BaseException as exc:  # reported to the test through the queue
            self.error = exc
            self.items.put(exc)
        finally:
            self.ended.set()

    def packets(self, count: int, timeout_s: float = 10.0) -> list[Got]:
        """The next ``count`` packets; fails the test on end, error or timeout."""
        out: list[Got] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < count:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            assert isinstance(item, Got), f"expected a packet from {self.url}, found {item!r}"
            out.append(item)
        return out

    def drain(self) -> int:
        """Discard what is queued; returns how many packets that was."""
        n = 0
        while True:
            try:
                item = self.items.get_nowait()
            except queue.Empty:
                return n
            if not isinstance(item, Got):
                self.items.put(item)  # keep the end marker for the test to see
                return n
            n += 1

    def quiet_for(self, seconds: float) -> bool:
        """True when nothing at all (packet, end, error) arrives for ``seconds``."""
        try:
            item = self.items.get(timeout=seconds)
        except queue.Empty:
            return True
        self.items.put(item)
        return False

    def wait_end(self, timeout_s: float) -> str | BaseException:
        """The next non-packet item (``"end"`` or the error), skipping packets; fails on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            item = self.items.get(timeout=max(0.01, deadline - time.monotonic()))
            if not isinstance(item, Got):
                return item


@pytest.fixture
def reader() -> Iterator[type[StreamReader]]:
    yield StreamReader
