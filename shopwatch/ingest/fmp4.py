"""A sans-IO fragmented-MP4 muxer for H.264 live views: the camera's own pictures, not re-encoded.

What a browser's Media Source Extensions take: one initialisation segment (``ftyp`` + ``moov`` whose ``avcC``
carries the stream's SPS/PPS) and then media segments, here one per picture (``moof`` + ``mdat``), so a picture
leaves as soon as its duration is known (the next one arrived: one picture of latency, exact durations).

Input is one access unit at a time as the RTSP demuxer gives it: Annex B (start codes; AUD, SPS and PPS units
are taken out of the samples, the parameter sets go into ``avcC``) or already length-prefixed. Output timestamps
are the input's deltas laid end to end from zero: a gap (pictures dropped for a slow viewer, see ``gap``) does
not leave a hole the browser would stall in; the picture after it simply follows. Streams with B-frames
(composition offsets) are not handled: cameras do not send them (see docs/INGEST.md).

No I/O and no clock: ``push`` returns the bytes to send."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

Kind = Literal["init", "media"]
NAL_SPS, NAL_PPS, NAL_AUD = 7, 8, 9
_DROP_FROM_SAMPLES = frozenset({NAL_SPS, NAL_PPS, NAL_AUD})
KEY_FLAGS = 0x02000000  # sample_depends_on = 2 (an I picture)
NON_KEY_FLAGS = 0x01010000  # sample_depends_on = 1, sample_is_non_sync_sample
_MATRIX = struct.pack(">9I", 0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)


class MuxError(ValueError):
    """The stream cannot be muxed for MSE (not H.264, or no SPS/PPS anywhere)."""


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


def nal_units(data: bytes) -> Iterator[bytes]:
    """The NAL units of an access unit: Annex B (``00 00 01``/``00 00 00 01`` start codes) or 4-byte lengths."""
    if data[:3] == b"\x00\x00\x01" or data[:4] == b"\x00\x00\x00\x01":
        yield from _annex_b(data)
        return
    at = 0
    while at + 4 <= len(data):
        (size,) = struct.unpack_from(">I", data, at)
        if size == 0 or at + 4 + size > len(data):
            raise MuxError(f"expected Annex B or 4-byte NAL lengths, found a length of {size} at byte {at}")
        yield data[at + 4 : at + 4 + size]
        at += 4 + size


def _annex_b(data: bytes) -> Iterator[bytes]:
    starts: list[tuple[int, int]] = []  # (start code position, payload position)
    at = data.find(b"\x00\x00\x01")
    while at >= 0:
        code = at - 1 if at > 0 and data[at - 1] == 0 else at
        starts.append((code, at + 3))
        at = data.find(b"\x00\x00\x01", at + 3)
    for i, (_, begin) in enumerate(starts):
        end = starts[i + 1][0] if i + 1 < len(starts) else len(data)
        unit = data[begin:end].rstrip(b"\x00") if i + 1 < len(starts) else data[begin:end]
        if unit:
            yield unit


def parameter_sets(data: bytes) -> tuple[list[bytes], list[bytes]]:
    """SPS and PPS units found in Annex B data or an ``avcC`` record (FFmpeg's extradata is either)."""
    if data[:1] == b"\x01" and len(data) > 6:  # avcC
        sps: list[bytes] = []
        pps: list[bytes] = []
        at = 6
        for target, count in ((sps, data[5] & 0x1F), (pps, None)):
            if count is None:
                count, at = data[at], at + 1
            for _ in range(count):
                (size,) = struct.unpack_from(">H", data, at)
                target.append(data[at + 2 : at + 2 + size])
                at += 2 + size
        return sps, pps
    units = list(nal_units(data))
    return [u for u in units if u[0] & 0x1F == NAL_SPS], [u for u in units if u[0] & 0x1F == NAL_PPS]


def codec_string(sps: bytes) -> str:
    """The RFC 6381 name MSE asks for: ``avc1.PPCCLL`` (profile, constraints, level from the SPS)."""
    return f"avc1.{sps[1]:02x}{sps[2]:02x}{sps[3]:02x}"


def init_segment(sps: bytes, pps: bytes, width: int, height: int, timescale: int) -> bytes:
    avcc = box(b"avcC", bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]), struct.pack(">H", len(sps)), sps,
               b"\x01", struct.pack(">H", len(pps)), pps)  # fmt: skip
    avc1 = box(
        b"avc1",
        b"\x00" * 6 + struct.pack(">H", 1),  # reserved, data_reference_index
        b"\x00" * 16,  # pre_defined, reserved
        struct.pack(">HHIIIH", width, height, 0x00480000, 0x00480000, 0, 1),
        b"\x00" * 32,  # compressor name
        struct.pack(">Hh", 0x0018, -1),
        avcc,
    )
    stbl = box(
        b"stbl",
        full_box(b"stsd", 0, 0, struct.pack(">I", 1), avc1),
        full_box(b"stts", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsc", 0, 0, struct.pack(">I", 0)),
        full_box(b"stsz", 0, 0, struct.pack(">II", 0, 0)),
        full_box(b"stco", 0, 0, struct.pack(">I", 0)),
    )
    dinf = box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))
    minf = box(b"minf", full_box(b"vmhd", 0, 1, b"\x00" * 8), dinf, stbl)
    mdia = box(
        b"mdia",
        full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, timescale, 0, 0x55C4, 0)),  # language "und"
        full_box(b"hdlr", 0, 0, b"\x00" * 4, b"vide", b"\x00" * 12, b"shopwatch live\x00"),
        minf,
    )
    tkhd = full_box(
        b"tkhd", 0, 3,  # enabled, in movie
        struct.pack(">IIIII", 0, 0, 1, 0, 0), b"\x00" * 8, struct.pack(">hhhH", 0, 0, 0, 0), _MATRIX,
        struct.pack(">II", width << 16, height << 16),
    )  # fmt: skip
    mvhd = full_box(
        b"mvhd", 0, 0,
        struct.pack(">IIIIIH", 0, 0, 1000, 0, 0x00010000, 0x0100), b"\x00" * 10, _MATRIX, b"\x00" * 24,
        struct.pack(">I", 2),
    )  # fmt: skip
    mvex = box(b"mvex", full_box(b"trex", 0, 0, struct.pack(">IIIII", 1, 1, 0, 0, 0)))
    moov = box(b"moov", mvhd, box(b"trak", tkhd, mdia), mvex)
    ftyp = box(b"ftyp", b"iso5", struct.pack(">I", 0x200), b"iso5iso6mp41")
    return ftyp + moov


def media_segment(sequence: int, decode_time: int, duration: int, sample: bytes, keyframe: bool) -> bytes:
    """One picture: ``moof`` (its time, duration, size and sync flag) and ``mdat``."""
    trun_flags = 0x000001 | 0x000100 | 0x000200 | 0x000400  # data offset, duration, size, flags per sample
    flags = KEY_FLAGS if keyframe else NON_KEY_FLAGS

    def moof(data_offset: int) -> bytes:
        return box(
            b"moof",
            full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)),
            box(
                b"traf",
                full_box(b"tfhd", 0, 0x020000, struct.pack(">I", 1)),  # default-base-is-moof
                full_box(b"tfdt", 1, 0, struct.pack(">Q", decode_time)),
                full_box(b"trun", 0, trun_flags, struct.pack(">IiIII", 1, data_offset, duration, len(sample), flags)),
            ),
        )

    size = len(moof(0))
    return moof(size + 8) + box(b"mdat", sample)


@dataclass(frozen=True, slots=True)
class Segment:
    kind: Kind
    data: bytes
    keyframe: bool = False


@dataclass(slots=True)
class _Held:
    sample: bytes
    ticks: int  # input timestamp in the muxer's timescale
    keyframe: bool


class Fmp4Muxer:
    """One viewer's stream: ``push`` each access unit in order, send what it returns.

    ``extradata``: the stream's parameter sets (from the RTSP session's SDP); without them the first keyframe's
    in-band SPS/PPS are used. ``time_base``: of the input ``pts``; the muxer's timescale is its denominator
    when its numerator is 1 (90 kHz for RTSP), else 90 kHz."""

    def __init__(
        self, *, width: int, height: int, time_base: Fraction, extradata: bytes | None = None, fps_guess: float = 12
    ) -> None:
        self.width, self.height = width, height
        self._time_base = time_base
        self.timescale = time_base.denominator if time_base.numerator == 1 else 90_000
        self._sps: bytes | None = None
        self._pps: bytes | None = None
        if extradata:
            sps, pps = parameter_sets(extradata)
            if sps and pps:
                self._sps, self._pps = sps[0], pps[0]
        self._held: _Held | None = None
        self._decode_time = 0  # output, of the held picture
        self._last_duration = max(1, round(self.timescale / fps_guess))
        self._sequence = 0
        self._started = False
        self.pictures = 0  # pictures sent

    @property
    def mime(self) -> str | None:
        """``video/mp4; codecs="avc1.…"``, once the parameter sets are known."""
        return None if self._sps is None else f'video/mp4; codecs="{codec_string(self._sps)}"'

    def push(self, data: bytes, pts: int | None, keyframe: bool, *, arrival: float, gap: bool = False) -> list[Segment]:
        """One access unit (``pts`` in the input time base; None: ``arrival``, seconds, is used). ``gap``:
        pictures were dropped before this one (it must then be a keyframe). Pictures before the first keyframe
        are skipped (undecodable). Returns the init segment (first time) and the previous picture's segment."""
        if not self._started and not keyframe:
            return []
        if gap and not keyframe:
            raise MuxError("expected a keyframe after a gap: the pictures after a drop cannot be decoded otherwise")
        sample, sps, pps = self._sample(data)
        out: list[Segment] = []
        if not self._started:
            if self._sps is None or self._pps is None:
                if not (sps and pps):
                    return []  # no parameter sets yet: wait for a keyframe that carries them
                self._sps, self._pps = sps, pps
            self._started = True
            out.append(Segment("init", init_segment(self._sps, self._pps, self.width, self.height, self.timescale)))
        ticks = round(pts * self._time_base * self.timescale) if pts is not None else round(arrival * self.timescale)
        held = self._held
        if held is not None:
            duration = ticks - held.ticks
            if gap or not 0 < duration < 10 * self.timescale:
                duration = self._last_duration  # after a drop, or a timestamp jump: the picture just follows
            self._last_duration = duration
            out.append(self._segment(held, duration))
            self._decode_time += duration
        self._held = _Held(sample, ticks, keyframe)
        return out

    def flush(self) -> list[Segment]:
        """The held picture, with the last duration (the stream ended)."""
        held, self._held = self._held, None
        return [] if held is None else [self._segment(held, self._last_duration)]

    def _segment(self, held: _Held, duration: int) -> Segment:
        self._sequence += 1
        self.pictures += 1
        data = media_segment(self._sequence, self._decode_time, duration, held.sample, held.keyframe)
        return Segment("media", data, held.keyframe)

    @staticmethod
    def _sample(data: bytes) -> tuple[bytes, bytes | None, bytes | None]:
        """The length-prefixed sample without AUD/SPS/PPS, and the SPS and PPS it carried."""
        parts: list[bytes] = []
        sps = pps = None
        for unit in nal_units(data):
            kind = unit[0] & 0x1F
            if kind == NAL_SPS:
                sps = sps or unit
            elif kind == NAL_PPS:
                pps = pps or unit
            if kind not in _DROP_FROM_SAMPLES:
                parts.append(struct.pack(">I", len(unit)))
                parts.append(unit)
        return b"".join(parts), sps, pps
