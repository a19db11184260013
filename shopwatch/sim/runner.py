"""Run a simulated fleet until told to stop: shared by ``python -m shopwatch.sim`` and ``shopwatch sim``."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Literal, Protocol, get_args

from shopwatch.sim.fleet import CameraServer, FleetOptions, SimFleet

Engine = Literal["gst", "light"]
ENGINES: tuple[str, ...] = get_args(Engine)


class ServingServer(CameraServer, Protocol):
    @property
    def host(self) -> str: ...

    @property
    def port(self) -> int: ...

    def start(self) -> None: ...

    def stop(self, timeout_s: float = 5.0) -> None: ...


@dataclass(frozen=True)
class ServeOptions:
    fleet: FleetOptions
    clips_dir: Path
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port
    config_path: Path | None = None  # write a matching shopwatch config here
    engine: Engine = "gst"  # gst: GStreamer (every fault, UDP); light: one thread, TCP only (light_rtsp.py)


@dataclass(frozen=True)
class RunningFleet:
    server: ServingServer
    fleet: SimFleet
    urls: dict[str, str]  # camera id -> URL without credentials
    config_path: Path | None

    @property
    def base_url(self) -> str:
        return f"rtsp://{self.server.host}:{self.server.port}/"


@contextmanager
def running_fleet(options: ServeOptions) -> Iterator[RunningFleet]:
    """Generate the clips, serve every camera and write the config; stop the server on exit."""
    fleet = SimFleet(options.fleet, options.clips_dir)
    for camera_id in fleet.camera_ids:
        fleet.clip_of(camera_id)  # before listening: a client must never wait for an encode
    server = make_server(options)
    server.start()
    try:
        urls = fleet.mount(server)
        if options.config_path is not None:
            fleet.write_config(options.config_path, options.host, server.port)
        yield RunningFleet(server, fleet, urls, options.config_path)
    finally:
        server.stop()


def make_server(options: ServeOptions) -> ServingServer:
    if options.engine == "light":
        from shopwatch.sim.light_rtsp import LightServer

        return LightServer(options.host, options.port, fps=options.fleet.fps)
    from shopwatch.sim.rtsp_server import SimServer

    return SimServer(options.host, options.port, fps=options.fleet.fps)


@contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event that SIGTERM or SIGINT sets while the block runs; restores the previous handlers. Main thread.

    Install it before the slow start (clips, mounts) so a signal at any moment stops cleanly.
    """
    stop = threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def wait_until(stop: threading.Event) -> None:
    while not stop.wait(0.5):  # short waits: signal handlers run between them
        pass
