"""RTP packets (RFC 3550) for G.711 audio: the wire format as a dataclass, and a packetizer per stream."""

from __future__ import annotations

import secrets
import struct
from dataclasses import dataclass

_HEADER = struct.Struct("!BBHII")
RTP_VERSION = 2


@dataclass(frozen=True)
class RtpPacket:
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    marker: bool = False

    def __bytes__(self) -> bytes:
        first = RTP_VERSION << 6  # no padding, no extension, no CSRC
        second = (0x80 if self.marker else 0) | (self.payload_type & 0x7F)
        return _HEADER.pack(first, second, self.sequence & 0xFFFF, self.timestamp & 0xFFFFFFFF, self.ssrc) + (
            self.payload
        )

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        """Parse one packet; ``ValueError`` says what was wrong. CSRCs, extension and padding are skipped."""
        if len(data) < _HEADER.size:
            raise ValueError(f"expected an RTP packet of at least 12 bytes, found {len(data)}")
        first, second, sequence, timestamp, ssrc = _HEADER.unpack_from(data)
        if first >> 6 != RTP_VERSION:
            raise ValueError(f"expected RTP version 2, found {first >> 6}")
        start = _HEADER.size + 4 * (first & 0x0F)
        if first & 0x10:  # header extension: 16-bit profile, 16-bit length in words
            if len(data) < start + 4:
                raise ValueError("RTP header extension is cut short")
            start += 4 + 4 * struct.unpack_from("!H", data, start + 2)[0]
        end = len(data) - (data[-1] if first & 0x20 and data else 0)
        if start > end:
            raise ValueError(f"RTP header of {start} bytes is longer than the packet ({len(data)})")
        return cls(second & 0x7F, sequence, timestamp, ssrc, data[start:end], bool(second & 0x80))


class Packetizer:
    """Numbers one stream's packets: random initial sequence, timestamp and SSRC (RFC 3550 section 5.1)."""

    def __init__(self, payload_type: int, *, ssrc: int | None = None) -> None:
        self.payload_type = payload_type
        self.ssrc = secrets.randbits(32) if ssrc is None else ssrc
        self._sequence = secrets.randbits(16)
        self._timestamp_base = secrets.randbits(32)
        self.packets = 0
        self.octets = 0

    def packet(self, payload: bytes, timestamp: int, *, marker: bool = False) -> RtpPacket:
        """The next packet; ``timestamp`` in samples since the stream's first packet."""
        pkt = RtpPacket(
            self.payload_type, self._sequence, (self._timestamp_base + timestamp) & 0xFFFFFFFF, self.ssrc,
            payload, marker,
        )  # fmt: skip
        self._sequence = (self._sequence + 1) & 0xFFFF
        self.packets += 1
        self.octets += len(payload)
        return pkt
