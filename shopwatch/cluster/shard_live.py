"""A shard's side of live views over Ray: what the worker's live tap sends for a watched camera, held for the
head's streaming call (``ShardActor.live``, a Ray streaming generator) and yielded to it in batches.

The head opens one stream per watched camera (``ShardLive.stream``) with a lease it renews every second while
anyone watches (``renew``; 0 ends it). The stream ends when the lease runs out (the head went away or its viewer
left), when the camera is no longer on this shard (it moved: the head opens a stream on its new shard), when the
head opens a new stream of the camera (a restarted head), or when the shard closes. A stream that ends tells the
worker's tap to stop watching.

Bounded: the tap's pictures wait in a ``LiveOutbox`` of ``max_units`` pictures per camera; when the head does not
take them in time, everything waiting is dropped (counted) and the feed resumes at the next keyframe marked as a
gap, so the tap (and the readers behind it) never wait for the head. No Ray here: ``cluster/actor.py`` wraps it."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from shopwatch.ingest.clip import StreamTemplate
from shopwatch.ingest.live_feed import RENEW_S, WATCH_S, LivePackets, LiveUnit, WatchLive

log = logging.getLogger(__name__)

OUTBOX_UNITS = 96  # pictures waiting for the head, per camera (8 s at 12 fps) before the feed skips ahead
WAIT_S = 0.2  # a stream looks at its lease and its camera at least this often


class LiveOutbox:
    """One camera's pictures waiting for the head (thread-safe): ``offer`` from the tap's thread never blocks,
    ``take`` from the stream's thread waits up to a timeout."""

    def __init__(self, max_units: int = OUTBOX_UNITS) -> None:
        self._max_units = max_units
        self._batches: deque[LivePackets] = deque()
        self._units = 0
        self._skipping = False  # dropped: waiting for the next keyframe
        self._stream: StreamTemplate | None = None  # a new stream's template that was dropped with its batch
        self._ready = threading.Condition()
        self.dropped = 0  # pictures

    def offer(self, packets: LivePackets) -> None:
        with self._ready:
            if packets.stream is not None:  # a new stream: what waits belongs to the old one
                self._drop_waiting()
                self._skipping, self._stream = False, None
            if self._units + len(packets.units) > self._max_units:
                self._drop_waiting()
                self._skipping = True
            if self._skipping:
                packets = self._from_keyframe(packets)
                if not packets.units:
                    return
            self._batches.append(packets)
            self._units += len(packets.units)
            self._ready.notify()

    def _drop_waiting(self) -> None:
        for batch in self._batches:
            self._stream = batch.stream or self._stream
        self.dropped += self._units
        self._batches.clear()
        self._units = 0

    def _from_keyframe(self, packets: LivePackets) -> LivePackets:
        """The part of ``packets`` from its first keyframe on, marked as following a gap (or as the new stream
        whose start was dropped); nothing when it holds no keyframe."""
        start = next((i for i, unit in enumerate(packets.units) if unit.keyframe), len(packets.units))
        self.dropped += start
        self._stream = packets.stream or self._stream
        units: tuple[LiveUnit, ...] = packets.units[start:]
        if not units:
            return replace(packets, units=())
        self._skipping = False
        stream, self._stream = self._stream, None
        return LivePackets(packets.camera_id, stream, units, gap=stream is None)

    def take(self, timeout_s: float) -> list[LivePackets]:
        """What waits (oldest first), waiting up to ``timeout_s`` for something; [] when nothing came."""
        with self._ready:
            if not self._batches:
                self._ready.wait(timeout_s)
            out = list(self._batches)
            self._batches.clear()
            self._units = 0
            return out


@dataclass
class _Stream:
    session: int
    until: float  # monotonic end of the head's lease
    outbox: LiveOutbox = field(default_factory=LiveOutbox)


class ShardLive:
    """The shard's live streams, by camera. ``watch``: to the worker (``WatchLive``, through the shard's main
    loop); ``holds``: whether the camera is (still) on this shard."""

    def __init__(
        self,
        watch: Callable[[WatchLive], None],
        holds: Callable[[str], bool],
        clock: Callable[[], float] = time.monotonic,
        max_units: int = OUTBOX_UNITS,
    ) -> None:
        self._watch = watch
        self._holds = holds
        self._clock = clock
        self._max_units = max_units
        self._lock = threading.Lock()
        self._streams: dict[str, _Stream] = {}
        self._sessions = itertools.count(1)
        self._closed = threading.Event()
        self.dropped = 0  # pictures dropped for heads that did not keep up, over all streams that ended

    def offer(self, packets: LivePackets) -> None:
        """From the worker's tap (its thread): a watched camera's new pictures."""
        with self._lock:
            stream = self._streams.get(packets.camera_id)
        if stream is not None:
            stream.outbox.offer(packets)

    def renew(self, camera_id: str, seconds: float) -> None:
        """The head's lease: the stream goes on ``seconds`` more (0: it ends now)."""
        with self._lock:
            stream = self._streams.get(camera_id)
            if stream is not None:
                stream.until = self._clock() + max(0.0, seconds)

    def streaming(self) -> list[str]:
        with self._lock:
            return sorted(self._streams)

    def close(self) -> None:
        self._closed.set()

    def stream(self, camera_id: str, lease_s: float) -> Iterator[tuple[LivePackets, ...]]:
        """The camera's pictures, in batches, until the stream ends (see the module's note)."""
        with self._lock:
            mine = _Stream(next(self._sessions), self._clock() + lease_s, LiveOutbox(self._max_units))
            self._streams[camera_id] = mine  # a stream of this camera already open ends at its next look
        log.info("live stream of %s opened (session %d)", camera_id, mine.session)
        self._watch(WatchLive(camera_id, 0.0))  # the tap starts over: a new stream's template, from a keyframe
        renewed = -float("inf")
        why = "closed"
        try:
            while not self._closed.is_set():
                now = self._clock()
                why = self._ends(camera_id, mine, now) or ""
                if why:
                    break
                if now - renewed >= RENEW_S:
                    renewed = now
                    self._watch(WatchLive(camera_id, WATCH_S))
                batches = mine.outbox.take(WAIT_S)
                if batches:
                    yield tuple(batches)
        finally:
            with self._lock:
                current = self._streams.get(camera_id)
                if current is mine:
                    del self._streams[camera_id]
                self.dropped += mine.outbox.dropped
            if current is mine:
                self._watch(WatchLive(camera_id, 0.0))
            log.info("live stream of %s ended (session %d): %s", camera_id, mine.session, why or "the head left")

    def _ends(self, camera_id: str, mine: _Stream, now: float) -> str | None:
        """Why the stream ends now, or None."""
        with self._lock:
            if self._streams.get(camera_id) is not mine:
                return "a newer stream of the camera opened"
        if now >= mine.until:
            return "the head's lease ran out"
        if not self._holds(camera_id):
            return "the camera is not on this shard"
        return None
