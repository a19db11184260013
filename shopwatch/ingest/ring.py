"""A bounded ring of demuxed packets, kept back to a keyframe so decoding and clips can start before a trigger.

The ring always holds everything from the newest keyframe at or before ``now - preroll_s``: whatever moment in the
last ``preroll_s`` seconds an event points at, the keyframe it needs is still there, and a clip can be cut from
it without re-encoding. Hard caps on packet count and bytes protect memory from a camera with an absurd GOP or
bitrate; packets dropped by a cap are counted (and the ring then may not reach back to a keyframe).

Generic in the packet type: the reader keeps ``av.Packet`` objects (no copy), tests use plain values.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable
from typing import Generic, NamedTuple, TypeVar

T = TypeVar("T")


class RingEntry(NamedTuple, Generic[T]):
    """A named tuple: one is made for every picture of every camera (cheaper to build than a dataclass)."""

    packet: T
    size: int  # bytes
    keyframe: bool
    time: float  # monotonic arrival time
    seq: int  # position in the ring's history, counting from 0


class PacketRing(Generic[T]):
    """Thread-safe: the reader thread appends, clip cutters and snapshots read copies."""

    def __init__(self, preroll_s: float, *, max_packets: int = 3000, max_bytes: int = 16 * 1024 * 1024) -> None:
        if max_packets < 1 or max_bytes < 1:
            raise ValueError(f"ring caps must be positive, found {max_packets} packets, {max_bytes} bytes")
        self._preroll_s = preroll_s
        self._max_packets = max_packets
        self._max_bytes = max_bytes
        self._entries: deque[RingEntry[T]] = deque()
        self._keyframes: deque[RingEntry[T]] = deque()  # keyframe entries in the ring, oldest first
        self._bytes = 0
        self._next_seq = 0
        self._lock = threading.Lock()
        self.dropped = 0  # packets dropped by the count/byte caps (not by normal ageing)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def preroll_s(self) -> float:
        return self._preroll_s

    def set_preroll(self, preroll_s: float) -> None:
        """Keep this much history from now on (longer while a camera is active, so a clip can reach back to
        the start of what it shows); a shorter value ages the surplus out with the next packet."""
        if preroll_s < 0:
            raise ValueError(f"preroll must not be negative, found {preroll_s}")
        with self._lock:
            self._preroll_s = preroll_s

    @property
    def bytes(self) -> int:
        return self._bytes

    def append(self, packet: T, *, size: int, keyframe: bool, time: float) -> RingEntry[T]:
        return self.extend(((packet, size, keyframe, time),))[0]

    def extend(self, items: Iterable[tuple[T, int, bool, float]]) -> list[RingEntry[T]]:
        """Append (packet, size, keyframe, arrival time) in order, under one lock; their entries."""
        added: list[RingEntry[T]] = []
        with self._lock:
            entries, keys = self._entries, self._keyframes
            for packet, size, keyframe, time in items:
                entry = RingEntry(packet, size, keyframe, time, self._next_seq)
                added.append(entry)
                self._next_seq += 1
                entries.append(entry)
                self._bytes += size
                if keyframe:
                    keys.append(entry)
                cutoff = time - self._preroll_s
                # Usually nothing to age out: checked here rather than in a call (this runs for every picture).
                if keys and (len(keys) >= 2 and keys[1].time <= cutoff or entries[0] is not keys[0]):
                    self._age_out(cutoff)
                if len(entries) > self._max_packets or self._bytes > self._max_bytes:
                    self._enforce_caps()
        return added

    def _enforce_caps(self) -> None:
        while len(self._entries) > 1 and (len(self._entries) > self._max_packets or self._bytes > self._max_bytes):
            self._pop_oldest()
            self.dropped += 1

    def _age_out(self, cutoff: float) -> None:
        # Find the newest keyframe at or before the cutoff; everything older than it is no longer needed.
        while len(self._keyframes) >= 2 and self._keyframes[1].time <= cutoff:
            self._keyframes.popleft()
        if not self._keyframes or self._keyframes[0].time > cutoff:
            return
        keep_from = self._keyframes[0].seq
        while self._entries and self._entries[0].seq < keep_from:
            self._pop_oldest()

    def _pop_oldest(self) -> None:
        entry = self._entries.popleft()
        self._bytes -= entry.size
        if self._keyframes and self._keyframes[0] is entry:
            self._keyframes.popleft()

    def clear(self) -> None:
        """Forget everything (a new connection: old packets cannot be decoded with the new stream)."""
        with self._lock:
            self._entries.clear()
            self._keyframes.clear()
            self._bytes = 0

    def entries(self) -> list[RingEntry[T]]:
        with self._lock:
            return list(self._entries)

    def from_keyframe_before(self, time: float) -> list[RingEntry[T]]:
        """Entries from the newest keyframe at or before ``time`` to the newest packet.

        If every keyframe in the ring is later than ``time``, starts from the oldest keyframe (the closest to the
        moment asked for that can still be decoded); empty when the ring holds no keyframe."""
        with self._lock:
            start: RingEntry[T] | None = None
            for key in self._keyframes:
                if key.time <= time or start is None:
                    start = key
                if key.time > time:
                    break
            if start is None:
                return []
            return [e for e in self._entries if e.seq >= start.seq]

    def after(self, seq: int) -> list[RingEntry[T]] | None:
        """Entries newer than ``seq``, in order; None when the ring no longer holds the one right after it (aged
        out, dropped by a cap, or cleared by a reconnect): a reader that fell behind starts again at a keyframe."""
        with self._lock:
            if seq + 1 >= self._next_seq:
                return []
            if not self._entries or seq + 1 < self._entries[0].seq:
                return None
            return list(itertools.islice(self._entries, seq + 1 - self._entries[0].seq, None))

    def from_last_keyframe(self) -> list[RingEntry[T]]:
        """Entries from the newest keyframe on (empty without one): where a live view starts."""
        with self._lock:
            if not self._keyframes:
                return []
            start = self._keyframes[-1].seq
            return [e for e in self._entries if e.seq >= start]

    def packets_since_last_keyframe(self) -> list[T]:
        """Packets from the newest keyframe on: enough to decode the current picture."""
        with self._lock:
            if not self._keyframes:
                return []
            start = self._keyframes[-1].seq
            return [e.packet for e in self._entries if e.seq >= start]
