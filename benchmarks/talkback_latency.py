"""Talkback latency, pacing and cost against the GStreamer backchannel peer, in one run.

    python benchmarks/talkback_latency.py [--drift-seconds 60] [--runs 20] [--sessions 20]

The peer (``shopwatch.sim.backchannel``) runs in its own process so the CPU measured here is the client's.
Each measurement is one function ``(peer, args) -> list[Row]`` in ``MEASUREMENTS``; API-level measurements
(API call -> first packet, WebSocket frame in -> RTP out) are added the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable, Coroutine
from typing import Any

import talkback_api_latency
from talkback_peer import Peer, Row, pct, peer_process, print_table

from shopwatch.talkback import audio
from shopwatch.talkback.player import talk
from shopwatch.talkback.target import parse_target


async def pacing_drift(peer: Peer, args: argparse.Namespace) -> list[Row]:
    """A long tone: how far the talk's length strays from the audio's length."""
    seconds = args.drift_seconds
    start = time.monotonic()
    result = await talk(parse_target(peer.url("pcmu")), audio.iter_frames(audio.tone(1000, seconds)))
    wall = time.monotonic() - start
    drift = abs(result.played_s - seconds) / seconds * 100
    return [
        Row(f"pacing: {seconds:.0f} s talk, played (first packet to end)", f"{result.played_s:.3f} s"),
        Row("pacing drift", f"{drift:.3f} %", "<= 1 %"),
        Row("pacing: talk() call to return (incl. setup, TEARDOWN)", f"{wall:.3f} s"),
    ]


async def first_packet(peer: Peer, args: argparse.Namespace) -> list[Row]:
    """talk() call -> first RTP packet sent, and -> first audio out of the peer's depayloader, for a clip
    already decoded (clips are prepared ahead)."""
    pcm = audio.tone(440, 0.3)
    sent: list[float] = []
    heard: list[float] = []
    for _ in range(args.runs):
        called = time.monotonic()
        first: list[float] = []
        await talk(parse_target(peer.url("pcmu")), audio.iter_frames(pcm),
                   on_started=lambda _codec, first=first: first.append(time.monotonic()))  # fmt: skip
        sent.append((first[0] - called) * 1000)
        peer.conn.send(("first_audio_after", "pcmu", called))
        at = await asyncio.to_thread(peer.conn.recv)
        if at is not None:
            heard.append((at - called) * 1000)
    rows = [Row("talk() -> first RTP sent, p50 / p95", f"{pct(sent, .5):.1f} / {pct(sent, .95):.1f} ms", "<= 150 ms")]
    if heard:
        rows.append(Row("talk() -> first audio out of the peer (its ~200 ms hold incl.), p50 / p95",
                        f"{pct(heard, .5):.1f} / {pct(heard, .95):.1f} ms"))  # fmt: skip
    return rows


async def cpu_per_session(peer: Peer, args: argparse.Namespace) -> list[Row]:
    """N concurrent 10 s talks: client CPU (this process) per session, and their pacing."""
    n, seconds = args.sessions, 10.0
    pcm = audio.tone(1000, seconds)
    cpu0, wall0 = time.process_time(), time.monotonic()
    results = await asyncio.gather(*(talk(parse_target(peer.url("pcmu")), audio.iter_frames(pcm)) for _ in range(n)))
    cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
    played = [r.played_s for r in results]
    return [
        Row(f"{n} concurrent talks: client CPU per session", f"{cpu / wall / n * 100:.2f} % of a core"),
        Row(f"{n} concurrent talks: played s, min / mean / max",
            f"{min(played):.3f} / {statistics.mean(played):.3f} / {max(played):.3f}", f"{seconds:.0f} s"),
    ]  # fmt: skip


Measurement = Callable[[Peer, argparse.Namespace], Coroutine[Any, Any, list[Row]]]
MEASUREMENTS: list[Measurement] = [first_packet, cpu_per_session, pacing_drift]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--drift-seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--frames", type=int, default=150, help="live WebSocket frames sent (API measurement)")
    args = parser.parse_args()
    rows: list[Row] = []
    with peer_process() as peer:
        for measure in [*MEASUREMENTS, *talkback_api_latency.MEASUREMENTS]:
            rows += asyncio.run(measure(peer, args))
    print_table(rows)


if __name__ == "__main__":
    main()
