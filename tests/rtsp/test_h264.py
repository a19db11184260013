"""H264Depacketizer and sps_dimensions, fed RTP packets built per RFC 6184 (and a real encoder's SPS)."""

from __future__ import annotations

import base64
import struct
from fractions import Fraction

import av
import numpy as np
import pytest

from shopwatch.rtsp.h264 import START, H264Depacketizer, H264Error, parameter_sets, sps_dimensions

SPS = bytes.fromhex("6764001eacb40501 7fcb08000003000800000300c078b175".replace(" ", ""))  # 640x360, High
PPS = bytes.fromhex("68ef0fcb")
IDR = bytes([0x65]) + bytes(range(1, 200))
P_SLICE = bytes([0x41]) + bytes(range(7, 90))


def rtp(payload: bytes, seq: int, ts: int, *, marker: bool = False, extension: bytes = b"", pad: int = 0) -> bytes:
    first = 0x80 | (0x10 if extension else 0) | (0x20 if pad else 0)
    head = struct.pack("!BBHII", first, (0x80 if marker else 0) | 96, seq & 0xFFFF, ts & 0xFFFFFFFF, 1234)
    if extension:
        head += struct.pack("!HH", 0xBEDE, len(extension) // 4) + extension
    return head + payload + (bytes(pad - 1) + bytes([pad]) if pad else b"")


def stap_a(*nals: bytes) -> bytes:
    return bytes([0x18]) + b"".join(struct.pack("!H", len(n)) + n for n in nals)


def fu_a(nal: bytes, size: int) -> list[bytes]:
    indicator, kind, body = (nal[0] & 0xE0) | 28, nal[0] & 0x1F, nal[1:]
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    return [
        bytes([indicator, (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0) | kind]) + chunk
        for i, chunk in enumerate(chunks)
    ]


def test_single_nal_stap_a_and_fu_a_make_annex_b_pictures() -> None:
    depay = H264Depacketizer()
    out = depay.push(rtp(stap_a(SPS, PPS), 1, 3000))
    for i, frag in enumerate(fu_a(IDR, 60)):
        out += depay.push(rtp(frag, 2 + i, 3000, marker=frag[1] & 0x40 > 0))
    out += depay.push(rtp(P_SLICE, 6, 3000 + 7500, marker=True))
    assert [(u.keyframe, u.timestamp) for u in out] == [(True, 0), (False, 7500)]
    assert out[0].data == START + SPS + START + PPS + START + IDR
    assert out[1].data == START + P_SLICE
    assert depay.extradata == START + SPS + START + PPS and depay.lost == 0


def test_a_keyframe_without_parameter_sets_gets_the_sdp_ones() -> None:
    depay = H264Depacketizer(parameter_sets(base64.b64encode(SPS).decode() + "," + base64.b64encode(PPS).decode()))
    (unit,) = depay.push(rtp(IDR, 10, 90_000, marker=True))
    assert unit.keyframe and unit.data == START + SPS + START + PPS + START + IDR


def test_a_sender_that_never_marks_ends_pictures_at_the_next_timestamp() -> None:
    depay = H264Depacketizer()
    assert depay.push(rtp(P_SLICE, 1, 100)) == []
    (unit,) = depay.push(rtp(P_SLICE, 2, 200))
    assert unit.data == START + P_SLICE and unit.timestamp == 0


def test_a_lost_fragment_drops_its_picture_and_the_next_one_is_whole() -> None:
    depay = H264Depacketizer()
    frags = fu_a(IDR, 50)
    depay.push(rtp(frags[0], 1, 0))
    # frags[1] lost
    out = [u for i, f in enumerate(frags[2:]) for u in depay.push(rtp(f, 3 + i, 0, marker=f is frags[-1]))]
    out += depay.push(rtp(P_SLICE, 3 + len(frags) - 2, 9000, marker=True))
    assert [u.data for u in out] == [START + P_SLICE] and depay.lost == 1


def test_timestamps_unwrap_across_the_32_bit_wrap() -> None:
    depay = H264Depacketizer()
    stamps = [0xFFFF_F000, 0xFFFF_F000 + 3000, (0xFFFF_F000 + 6000) & 0xFFFFFFFF]
    out = [u for i, ts in enumerate(stamps) for u in depay.push(rtp(P_SLICE, i, ts, marker=True))]
    assert [u.timestamp for u in out] == [0, 3000, 6000]


def test_header_extension_csrc_and_padding_are_skipped() -> None:
    depay = H264Depacketizer()
    (unit,) = depay.push(rtp(P_SLICE, 1, 0, marker=True, extension=bytes(8), pad=4))
    assert unit.data == START + P_SLICE


@pytest.mark.parametrize(
    ("packet", "expected"),
    [
        (b"\x80\x60\x00", "expected an RTP version 2 packet"),
        (rtp(bytes([0x18, 0x00, 0x50, 0x41]), 1, 0), "expected a STAP-A unit of 80 bytes"),
        (rtp(bytes([0x1C]), 1, 0), "expected an FU-A header"),
    ],
)
def test_malformed_packets_say_what_was_found(packet: bytes, expected: str) -> None:
    with pytest.raises(H264Error, match=expected):
        H264Depacketizer().push(packet)


def test_bad_sprop_is_refused_with_its_value() -> None:
    with pytest.raises(H264Error, match="sprop-parameter-sets, found 'Z0@@'"):
        parameter_sets("Z0@@")


@pytest.mark.parametrize(("width", "height"), [(640, 360), (352, 288), (1920, 1080), (1280, 720)])
def test_sps_dimensions_match_what_an_encoder_wrote(width: int, height: int) -> None:
    codec = av.CodecContext.create("libx264", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuv420p"
    codec.time_base = Fraction(1, 12)
    codec.options = {"x264-params": "repeat-headers=1"}
    frame = av.VideoFrame.from_ndarray(np.zeros((height, width, 3), np.uint8), format="rgb24").reformat(
        format="yuv420p"
    )
    frame.pts = 0
    data = b"".join(bytes(p) for p in [*codec.encode(frame), *codec.encode(None)])
    sps = next(n for n in data.split(b"\x00\x00\x01") if n and n[0] & 0x1F == 7).rstrip(b"\x00")
    assert sps_dimensions(sps) == (width, height)
    assert sps_dimensions(SPS) == (640, 360)


def test_sps_dimensions_refuses_what_is_not_an_sps() -> None:
    with pytest.raises(H264Error, match="expected an SPS NAL unit"):
        sps_dimensions(PPS)
