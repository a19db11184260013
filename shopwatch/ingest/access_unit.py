"""Access units: the demuxed packets of one picture, put back together before decoding.

An RTSP demuxer does not always hand over one packet per picture. Seen on these machines: a multi-slice H.264
keyframe from a GStreamer ``rtph264pay config-interval=-1`` sender arrives as one packet per slice (the payloader
repeats SPS/PPS before each IDR slice, so FFmpeg's parser starts a new packet there), all with the same
timestamp (the first one without any). Decoding such packets one by one yields one half-drawn picture per slice.
So packets are grouped by timestamp into access units, and a unit of several packets is decoded as one
concatenated packet (Annex B start codes make the concatenation a valid access unit).

The assembler is generic in the packet type: anything with ``pts``, ``is_keyframe`` and ``size``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, NamedTuple, Protocol, TypeVar


class PacketLike(Protocol):
    @property
    def pts(self) -> int | None: ...

    @property
    def is_keyframe(self) -> bool: ...

    @property
    def size(self) -> int: ...


P = TypeVar("P", bound=PacketLike)


class AccessUnit(NamedTuple, Generic[P]):
    """One picture's packets. A named tuple: one is made for every picture of every camera, and a tuple is the
    cheapest immutable record Python makes (a frozen dataclass costs ~4x as much to build)."""

    packets: tuple[P, ...]
    arrival: float  # monotonic time the first packet arrived
    # Read from the packets once (each read of an ``av.Packet`` attribute goes through PyAV).
    keyframe: bool
    size: int
    pts: int | None

    @classmethod
    def of(cls, packets: tuple[P, ...], arrival: float) -> AccessUnit[P]:
        """The unit of ``packets``: keyframe flag of the first, sizes summed, the first timestamp present."""
        first = packets[0]
        if len(packets) == 1:
            return cls(packets, arrival, first.is_keyframe, first.size, first.pts)
        pts = next((p.pts for p in packets if p.pts is not None), None)
        return cls(packets, arrival, first.is_keyframe, sum(p.size for p in packets), pts)


class AccessUnitAssembler(Generic[P]):
    """Feed packets in demux order; get each access unit back once the first packet of the next one arrives.

    A packet belongs to the current unit when it has the same keyframe flag and the same timestamp (a missing
    timestamp matches any). That costs one picture of latency (~80 ms at 12 fps), which only decoding sees:
    sizes, the ring and health are fed per unit as soon as it is complete."""

    def __init__(self, max_packets: int = 256) -> None:
        self._max_packets = max_packets  # a stream that never changes timestamps must not grow a unit forever
        self._packets: list[P] = []
        self._arrival = 0.0
        self._keyframe = False  # of the unit being assembled
        self._pts: int | None = None  # of the unit being assembled: its first packet's that has one

    def push(self, packet: P, now: float) -> AccessUnit[P] | None:
        """Add one packet; the unit it completed, if any."""
        done = self.push_all(((packet, now),))
        return done[0] if done else None

    def push_all(self, packets: Iterable[tuple[P, float]]) -> list[AccessUnit[P]]:
        """Add (packet, arrival) pairs in order; the units they completed, in order. The reader's path: one call
        per batch, the unit being assembled kept in locals."""
        done: list[AccessUnit[P]] = []
        current, arrival, keyframe, pts = self._packets, self._arrival, self._keyframe, self._pts
        for packet, now in packets:
            key, stamp = packet.is_keyframe, packet.pts
            if current and (
                key != keyframe
                or len(current) >= self._max_packets
                or (stamp is not None and pts is not None and stamp != pts)
            ):
                done.append(AccessUnit.of(tuple(current), arrival))
                current = []
            if not current:
                arrival, keyframe, pts = now, key, stamp
            elif pts is None:
                pts = stamp
            current.append(packet)
        self._packets, self._arrival, self._keyframe, self._pts = current, arrival, keyframe, pts
        return done

    def reset(self) -> None:
        self._packets = []
