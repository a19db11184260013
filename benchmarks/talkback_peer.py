"""What the talkback benchmarks share: the GStreamer backchannel peer in a process of its own, the row type,
percentiles and the table printer (``talkback_latency`` and ``talkback_api_latency`` both import it)."""

from __future__ import annotations

import multiprocessing as mp
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection


@dataclass(frozen=True)
class Row:
    measurement: str
    value: str
    target: str = ""


@dataclass(frozen=True)
class Peer:
    url: Callable[[str], str]  # mount -> URL
    conn: Connection  # ask the peer process: ("first_audio_after", mount, t) -> monotonic time or None


def _serve_peer(conn: Connection) -> None:
    from shopwatch.sim.backchannel import BackchannelServer

    with BackchannelServer() as server:
        conn.send(server.port)
        while True:
            message = conn.recv()
            if message is None:
                return
            _, mount, since = message
            deadline = time.monotonic() + 5
            found = None
            while found is None and time.monotonic() < deadline:
                found = next((r.first_at for r in server.receptions(mount) if r.first_at and r.first_at > since), None)
                time.sleep(0.002)
            conn.send(found)


@contextmanager
def peer_process() -> Iterator[Peer]:
    ours, theirs = mp.get_context("spawn").Pipe()
    process = mp.get_context("spawn").Process(target=_serve_peer, args=(theirs,), daemon=True)
    process.start()
    port = ours.recv()
    try:
        yield Peer(lambda mount: f"rtsp://127.0.0.1:{port}/{mount}", ours)
    finally:
        ours.send(None)
        process.join(10)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def print_table(rows: list[Row]) -> None:
    width = max(len(r.measurement) for r in rows)
    value_width = max(len(r.value) for r in rows)
    print(f"| {'measurement'.ljust(width)} | {'value'.ljust(value_width)} | target |")
    print(f"|{'-' * (width + 2)}|{'-' * (value_width + 2)}|--------|")
    for r in rows:
        print(f"| {r.measurement.ljust(width)} | {r.value.ljust(value_width)} | {r.target} |")
