"""The packet feed of a watched camera, from its worker's ring to the live views of the API process.

Worker side (``LiveTap``, one thread per worker): for each camera a live view watches (``WatchLive``, renewed
every second by the supervisor while anyone watches, forgotten ``seconds`` after the last renewal), every
``POLL_S`` it sends what the camera's packet ring got since the last send, starting from the ring's newest
keyframe; a watcher that fell behind the ring (a reconnect cleared it, or the pipe was full for longer than the
ring reaches back) starts again at the newest keyframe, marked as a gap. The ring is bounded, so is the feed.

Supervisor side (``LiveSubscription``, one per live view, on the event loop): a bounded queue of the camera's
pictures. A viewer that does not keep up (a slow browser) never grows it: once ``max_units`` are waiting,
everything waiting is dropped and the next picture it gets is the next keyframe, marked as a gap."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shopwatch.ingest.access_unit import AccessUnit
from shopwatch.ingest.clip import StreamTemplate
from shopwatch.ingest.ring import PacketRing, RingEntry

log = logging.getLogger(__name__)

POLL_S = 0.04  # a picture waits at most this long in the worker (12 fps: one picture every 83 ms)
WATCH_S = 3.0  # a watch the supervisor stopped renewing (its process died) ends after this long
RENEW_S = 1.0
MAX_UNITS = 48  # pictures waiting for one viewer (4 s at 12 fps) before it skips to the next keyframe


@dataclass(frozen=True, slots=True)
class LiveUnit:
    """One picture: its Annex B bytes, timestamp (``pts`` in the stream's time base) and keyframe flag."""

    data: bytes
    pts: int | None
    keyframe: bool
    arrival: float  # the worker's monotonic time


@dataclass(frozen=True, slots=True)
class LivePackets:
    """Worker -> supervisor: a watched camera's new pictures. ``stream``: set when these start a new
    connection's stream (the first batch of a watch, or after a reconnect); ``gap``: pictures were skipped
    before these (they start at a keyframe)."""

    camera_id: str
    stream: StreamTemplate | None
    units: tuple[LiveUnit, ...]
    gap: bool = False


@dataclass(frozen=True, slots=True)
class WatchLive:
    """Supervisor -> worker: send this camera's pictures for ``seconds`` more (0: stop now)."""

    camera_id: str
    seconds: float


class Watched(Protocol):
    """What the tap needs of a reader (``CameraReader``)."""

    watched: bool

    @property
    def ring(self) -> PacketRing[AccessUnit[Any]]: ...

    @property
    def template(self) -> StreamTemplate | None: ...


@dataclass
class _Watch:
    until: float
    seq: int | None = None  # the last ring entry sent
    template: StreamTemplate | None = None  # of the stream being sent


def _unit(entry: RingEntry[AccessUnit[Any]]) -> LiveUnit:
    unit = entry.packet
    data = bytes(unit.packets[0]) if len(unit.packets) == 1 else b"".join(bytes(p) for p in unit.packets)
    return LiveUnit(data, unit.pts, unit.keyframe, unit.arrival)


class LiveTap:
    """Worker side. ``readers``: the worker's readers by camera (read, never changed, here); ``send``: to the
    supervisor (blocks while the pipe is full: the ring then moves on and the next send starts at a keyframe)."""

    def __init__(
        self,
        readers: Mapping[str, Watched],
        send: Callable[[LivePackets], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._readers = readers
        self._send = send
        self._clock = clock
        self._watches: dict[str, _Watch] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def watch(self, request: WatchLive) -> None:
        with self._lock:
            if request.seconds <= 0:
                self._watches.pop(request.camera_id, None)
            else:
                watch = self._watches.setdefault(request.camera_id, _Watch(0.0))
                watch.until = self._clock() + request.seconds
        if self._thread is None and request.seconds > 0:
            self._thread = threading.Thread(target=self._run, name="live-tap", daemon=True)
            self._thread.start()

    def watching(self) -> list[str]:
        with self._lock:
            return list(self._watches)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1.0)

    def _run(self) -> None:
        while not self._stop.wait(POLL_S):
            self.poll()

    def poll(self) -> int:
        """One pass over the watched cameras; the number of pictures sent."""
        now = self._clock()
        with self._lock:
            for camera_id in [c for c, w in self._watches.items() if w.until <= now]:
                del self._watches[camera_id]
            watches = list(self._watches.items())
        for each in self._readers.values():
            each.watched = False
        sent = 0
        for camera_id, watch in watches:
            reader = self._readers.get(camera_id)
            if reader is None:
                continue
            reader.watched = True  # the reader hands its packets on at once instead of once a second
            sent += self._poll_one(camera_id, watch, reader)
        return sent

    def _poll_one(self, camera_id: str, watch: _Watch, reader: Watched) -> int:
        template = reader.template
        if template is None:
            return 0
        new_stream = template is not watch.template
        entries = None if new_stream or watch.seq is None else reader.ring.after(watch.seq)
        gap = False
        if entries is None:  # a new watch, a new connection, or fallen behind the ring
            gap = not new_stream and watch.seq is not None
            entries = reader.ring.from_last_keyframe()
        if not entries:
            return 0
        watch.seq, watch.template = entries[-1].seq, template
        self._send(LivePackets(camera_id, template if new_stream else None, tuple(map(_unit, entries)), gap))
        return len(entries)


class LiveSubscription:
    """Supervisor side: one viewer's pictures of one camera, bounded (see the module's note). Event loop only."""

    def __init__(self, camera_id: str, on_close: Callable[[LiveSubscription], None], max_units: int = MAX_UNITS):
        self.camera_id = camera_id
        self._on_close = on_close
        self._max_units = max_units
        self._queue: deque[tuple[StreamTemplate | None, LiveUnit, bool]] = deque()
        self._ready = asyncio.Event()
        self._skipping = False  # dropped: waiting for the next keyframe
        self._gap = False  # the next unit handed out follows a drop
        self.dropped = 0
        self.closed = False

    def offer(self, packets: LivePackets) -> None:
        if self.closed:
            return
        first = True
        for unit in packets.units:
            stream = packets.stream if first else None
            if stream is not None:  # a new stream: what waits belongs to the old one
                self.dropped += len(self._queue)
                self._queue.clear()
                self._skipping = False
            elif first and packets.gap:
                self._skipping, self._gap = False, True
            first = False
            if self._skipping:
                if not unit.keyframe:
                    self.dropped += 1
                    continue
                self._skipping = False
            if len(self._queue) >= self._max_units:
                self.dropped += len(self._queue) + (0 if unit.keyframe else 1)
                self._queue.clear()
                self._gap = True
                if not unit.keyframe:
                    self._skipping = True
                    continue
            self._queue.append((stream, unit, self._gap))
            self._gap = False
        if self._queue:
            self._ready.set()

    async def get(self) -> list[tuple[StreamTemplate | None, LiveUnit, bool]]:
        """What waits (at least one picture): (a new stream's template or None, the picture, after a gap)."""
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        out = list(self._queue)
        self._queue.clear()
        return out

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_close(self)


class LiveHub:
    """Supervisor side: the subscriptions by camera, and the watches they keep renewed."""

    def __init__(self, send_watch: Callable[[WatchLive], None], max_units: int = MAX_UNITS) -> None:
        self._send_watch = send_watch
        self._max_units = max_units
        self._subs: dict[str, set[LiveSubscription]] = {}
        # Per watched camera, its stream and the pictures since its newest keyframe (at most ``max_units``).
        self._gops: dict[str, tuple[StreamTemplate, list[LiveUnit]]] = {}
        self._renewer: asyncio.TimerHandle | None = None

    def subscribe(self, camera_id: str) -> LiveSubscription:
        """A new viewer: a camera already watched starts it at once from the pictures kept since its newest
        keyframe; else the worker is asked, and sends from its ring's newest keyframe."""
        sub = LiveSubscription(camera_id, self._unsubscribe, self._max_units)
        first = camera_id not in self._subs
        self._subs.setdefault(camera_id, set()).add(sub)
        if first:
            self._send_watch(WatchLive(camera_id, WATCH_S))
        else:
            kept = self._gops.get(camera_id)
            if kept is not None and kept[1]:
                sub.offer(LivePackets(camera_id, kept[0], tuple(kept[1])))
        if self._renewer is None:
            self._renewer = asyncio.get_running_loop().call_later(RENEW_S, self._renew)
        return sub

    def deliver(self, packets: LivePackets) -> None:
        subs = self._subs.get(packets.camera_id)
        if not subs:
            return
        self._keep(packets)
        for sub in subs:
            sub.offer(packets)

    def _keep(self, packets: LivePackets) -> None:
        if packets.stream is not None:
            self._gops[packets.camera_id] = (packets.stream, [])
        kept = self._gops.get(packets.camera_id)
        if kept is None:
            return
        gop = kept[1]
        if packets.gap:
            gop.clear()
        for unit in packets.units:
            if unit.keyframe:
                gop.clear()
            if gop or unit.keyframe:
                gop.append(unit)
        if len(gop) > self._max_units:  # a long GOP: a new viewer waits for the next keyframe instead
            gop.clear()

    def watched(self) -> list[str]:
        return list(self._subs)

    def _unsubscribe(self, sub: LiveSubscription) -> None:
        subs = self._subs.get(sub.camera_id)
        if subs is None:
            return
        subs.discard(sub)
        if not subs:
            del self._subs[sub.camera_id]
            self._gops.pop(sub.camera_id, None)
            self._send_watch(WatchLive(sub.camera_id, 0.0))

    def _renew(self) -> None:
        self._renewer = None
        for camera_id in self._subs:
            self._send_watch(WatchLive(camera_id, WATCH_S))
        if self._subs:
            self._renewer = asyncio.get_running_loop().call_later(RENEW_S, self._renew)

    def close(self) -> None:
        if self._renewer is not None:
            self._renewer.cancel()
            self._renewer = None
