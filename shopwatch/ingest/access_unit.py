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

from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar


class PacketLike(Protocol):
    @property
    def pts(self) -> int | None: ...

    @property
    def is_keyframe(self) -> bool: ...

    @property
    def size(self) -> int: ...


P = TypeVar("P", bound=PacketLike)


@dataclass(frozen=True, slots=True)
class AccessUnit(Generic[P]):
    packets: tuple[P, ...]
    arrival: float  # monotonic time the first packet arrived

    @property
    def keyframe(self) -> bool:
        return self.packets[0].is_keyframe

    @property
    def size(self) -> int:
        return sum(p.size for p in self.packets)

    @property
    def pts(self) -> int | None:
        return next((p.pts for p in self.packets if p.pts is not None), None)


class AccessUnitAssembler(Generic[P]):
    """Feed packets in demux order; get each access unit back once the first packet of the next one arrives.

    A packet belongs to the current unit when it has the same keyframe flag and the same timestamp (a missing
    timestamp matches any). That costs one picture of latency (~80 ms at 12 fps), which only decoding sees:
    sizes, the ring and health are fed per unit as soon as it is complete."""

    def __init__(self, max_packets: int = 256) -> None:
        self._max_packets = max_packets  # a stream that never changes timestamps must not grow a unit forever
        self._packets: list[P] = []
        self._arrival = 0.0

    def push(self, packet: P, now: float) -> AccessUnit[P] | None:
        done: AccessUnit[P] | None = None
        if self._packets and not self._continues(packet):
            done = AccessUnit(tuple(self._packets), self._arrival)
            self._packets = []
        if not self._packets:
            self._arrival = now
        self._packets.append(packet)
        return done

    def _continues(self, packet: P) -> bool:
        first = self._packets[0]
        if packet.is_keyframe != first.is_keyframe or len(self._packets) >= self._max_packets:
            return False
        current = next((p.pts for p in self._packets if p.pts is not None), None)
        return packet.pts is None or current is None or packet.pts == current

    def reset(self) -> None:
        self._packets = []
