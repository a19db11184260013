"""Event clips cut from the packet ring: MP4 files made by remuxing the camera's own packets (no re-encoding).

A clip starts at a keyframe (the ring keeps one before any moment it covers), so it plays from its first picture.
Timestamps are rebased to start at zero; packets without timestamps (some cameras' RTSP) get them from their
arrival times. Files are written beside their final name and renamed into place: a reader never sees half a clip.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
from av.video.stream import VideoStream

from shopwatch.core.errors import Unavailable
from shopwatch.ingest.access_unit import AccessUnit
from shopwatch.ingest.ring import PacketRing, RingEntry


@dataclass(frozen=True, slots=True)
class StreamTemplate:
    """What a muxer needs to know about a camera's stream, copied at connect (the stream object dies with its
    connection; a clip may be cut after a reconnect)."""

    codec: str
    width: int
    height: int
    extradata: bytes | None
    time_base: Fraction

    @classmethod
    def of(cls, stream: Any) -> StreamTemplate:
        ctx = stream.codec_context
        extradata = ctx.extradata
        time_base = Fraction(stream.time_base) if stream.time_base else Fraction(1, 90_000)
        return cls(str(ctx.name), int(ctx.width), int(ctx.height), bytes(extradata) if extradata else None, time_base)


@dataclass(frozen=True, slots=True)
class ClipInfo:
    path: Path
    pictures: int
    duration_s: float


class ClipError(Unavailable):
    """No clip could be cut (no keyframe in range, or the muxer refused the packets)."""


def cut_clip(
    ring: PacketRing[AccessUnit[Any]], template: StreamTemplate, start: float, end: float, path: Path
) -> ClipInfo:
    """The ring's pictures from the keyframe at or before ``start`` to ``end`` (monotonic arrival times)."""
    entries = [e for e in ring.from_keyframe_before(start) if e.time <= end]
    return write_clip(entries, template, path)


def write_clip(entries: Sequence[RingEntry[AccessUnit[Any]]], template: StreamTemplate, path: Path) -> ClipInfo:
    first_key = next((i for i, e in enumerate(entries) if e.keyframe), None)
    if first_key is None:
        raise ClipError("no keyframe in the requested span: nothing decodable to cut")
    entries = entries[first_key:]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        duration = _mux(entries, template, Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return ClipInfo(path, len(entries), duration)


def _mux(entries: Sequence[RingEntry[AccessUnit[Any]]], template: StreamTemplate, path: Path) -> float:
    time_base = template.time_base
    origin_pts = entries[0].packet.pts
    origin_time = entries[0].time
    last_pts = -1
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = cast(VideoStream, out.add_stream(template.codec))
        stream.width, stream.height = template.width, template.height
        stream.time_base = time_base
        if template.extradata:
            stream.codec_context.extradata = template.extradata
        for entry in entries:
            unit = entry.packet
            if unit.pts is not None and origin_pts is not None:
                pts = int(unit.pts - origin_pts)
            else:  # no timestamps from the camera: arrival times
                pts = int((entry.time - origin_time) / time_base)
            pts = max(pts, last_pts + 1)  # the muxer refuses timestamps that do not increase
            last_pts = pts
            packet = av.Packet(b"".join(bytes(p) for p in unit.packets))
            packet.pts = packet.dts = pts
            packet.time_base = time_base
            packet.is_keyframe = unit.keyframe
            packet.stream = stream
            try:
                out.mux(packet)
            except av.error.FFmpegError as exc:
                raise ClipError(f"the MP4 muxer refused a packet: {exc.strerror}") from None
    return float(last_pts * time_base)
