"""The live view's fragmented-MP4 muxer, checked by reading its output back with FFmpeg (PyAV): every picture
there with its own bytes (no re-encoding), its timestamp and its keyframe flag, and decodable."""

from __future__ import annotations

import struct
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from shopwatch.ingest.fmp4 import Fmp4Muxer, MuxError, codec_string, nal_units, parameter_sets
from shopwatch.sim.clips import x264_options

FPS, GOP, PICTURES = 12, 12, 30
TIME_BASE = Fraction(1, 90_000)
TICKS = 90_000 // FPS


def encode_h264(pictures: int = PICTURES, width: int = 160, height: int = 96) -> list[tuple[bytes, bool]]:
    """Annex B access units from libx264 as a camera sends them (SPS/PPS repeated before each keyframe)."""
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.framerate = Fraction(FPS)
    codec.time_base = Fraction(1, FPS)
    codec.gop_size = GOP
    codec.options = x264_options(GOP)
    out: list[tuple[bytes, bool]] = []
    rng = np.random.default_rng(7)
    for i in range(pictures + 1):
        packets = []
        if i < pictures:
            image = rng.integers(0, 255, (height * 3 // 2, width), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
            frame.pts = i
            packets = codec.encode(frame)
        else:
            packets = codec.encode(None)
        out.extend((bytes(p), p.is_keyframe) for p in packets)
    return out


def mux(units: list[tuple[bytes, bool]], pts_of: list[int | None], **kwargs: object) -> tuple[Fmp4Muxer, bytes]:
    muxer = Fmp4Muxer(width=160, height=96, time_base=TIME_BASE, **kwargs)  # type: ignore[arg-type]
    out = b""
    for (data, key), pts in zip(units, pts_of, strict=True):
        out += b"".join(s.data for s in muxer.push(data, pts, key, arrival=0.0))
    out += b"".join(s.data for s in muxer.flush())
    return muxer, out


def read_back(data: bytes, path: Path) -> list[av.Packet]:
    path.write_bytes(data)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert (stream.codec_context.width, stream.codec_context.height) == (160, 96)
        packets = [p for p in container.demux(stream) if p.size]
        decoded = 0
        for packet in packets:
            decoded += len(stream.codec_context.decode(packet))
        decoded += len(stream.codec_context.decode(None))
    assert decoded == len(packets), "every picture decodes"
    return packets


def avcc_without_parameter_sets(annex_b: bytes) -> bytes:
    return b"".join(struct.pack(">I", len(u)) + u for u in nal_units(annex_b) if u[0] & 0x1F not in (7, 8, 9))


def test_pictures_timestamps_and_bytes_survive(tmp_path: Path) -> None:
    units = encode_h264()
    pts = [i * TICKS + 123_456 for i in range(len(units))]  # a camera's clock does not start at zero
    muxer, data = mux(units, pts)
    assert muxer.mime is not None and muxer.mime.startswith('video/mp4; codecs="avc1.')
    packets = read_back(data, tmp_path / "live.mp4")
    assert len(packets) == len(units) == PICTURES
    assert [p.pts for p in packets] == [i * TICKS for i in range(PICTURES)]  # rebased to zero, 90 kHz
    assert [p.is_keyframe for p in packets] == [key for _, key in units]
    assert sum(p.is_keyframe for p in packets) == 3
    # No re-encoding: each sample is the camera's own picture, only re-framed (start codes -> lengths).
    assert [bytes(p) for p in packets] == [avcc_without_parameter_sets(d) for d, _ in units]


def test_starts_at_a_keyframe_and_closes_gaps(tmp_path: Path) -> None:
    units = encode_h264()
    muxer = Fmp4Muxer(width=160, height=96, time_base=TIME_BASE)
    out = b"".join(s.data for s in muxer.push(units[5][0], 5 * TICKS, False, arrival=0.0))
    assert out == b"", "pictures before the first keyframe cannot be decoded: skipped"
    segments = []
    for i in range(12, 18):  # the second GOP's first pictures
        segments += muxer.push(units[i][0], i * TICKS, units[i][1], arrival=0.0)
    # A slow viewer dropped pictures 18-23: the next keyframe follows at once, no hole in the timeline.
    segments += muxer.push(units[24][0], 24 * TICKS, True, arrival=0.0, gap=True)
    segments += muxer.push(units[25][0], 25 * TICKS, False, arrival=0.0)
    segments += muxer.flush()
    assert [s.kind for s in segments][:2] == ["init", "media"]
    packets = read_back(b"".join(s.data for s in segments), tmp_path / "gap.mp4")
    assert [p.pts for p in packets] == [i * TICKS for i in range(8)]
    assert [p.is_keyframe for p in packets] == [True, False, False, False, False, False, True, False]
    with pytest.raises(MuxError, match="keyframe after a gap"):
        muxer.push(units[26][0], 26 * TICKS, False, arrival=0.0, gap=True)


def test_parameter_sets_from_extradata_or_in_band() -> None:
    units = encode_h264(pictures=1)
    sps, pps = parameter_sets(units[0][0])
    assert len(sps) == len(pps) == 1
    assert codec_string(sps[0]) == f"avc1.{sps[0][1]:02x}{sps[0][2]:02x}{sps[0][3]:02x}"
    avcc = bytes([1, sps[0][1], sps[0][2], sps[0][3], 0xFF, 0xE1]) + struct.pack(">H", len(sps[0])) + sps[0]
    avcc += b"\x01" + struct.pack(">H", len(pps[0])) + pps[0]
    assert parameter_sets(avcc) == (sps, pps)
    # Without the SDP's parameter sets, a keyframe that carries none cannot start the stream.
    stripped = b"".join(b"\x00\x00\x00\x01" + u for u in nal_units(units[0][0]) if u[0] & 0x1F not in (7, 8))
    assert Fmp4Muxer(width=160, height=96, time_base=TIME_BASE).push(stripped, 0, True, arrival=0.0) == []
    given = Fmp4Muxer(width=160, height=96, time_base=TIME_BASE, extradata=units[0][0])
    assert [s.kind for s in given.push(stripped, 0, True, arrival=0.0)] == ["init"]


def test_timestamps_from_arrival_when_the_camera_sends_none(tmp_path: Path) -> None:
    units = encode_h264(pictures=6)
    muxer = Fmp4Muxer(width=160, height=96, time_base=TIME_BASE)
    data = b""
    for i, (unit, key) in enumerate(units):
        data += b"".join(s.data for s in muxer.push(unit, None, key, arrival=100.0 + i / FPS))
    data += b"".join(s.data for s in muxer.flush())
    assert [p.pts for p in read_back(data, tmp_path / "arrival.mp4")] == [i * TICKS for i in range(6)]


def test_garbage_is_a_clear_error() -> None:
    with pytest.raises(MuxError, match="4-byte NAL lengths"):
        list(nal_units(b"\x00\x00\x10\x00abc"))
