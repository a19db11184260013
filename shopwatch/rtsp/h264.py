"""H.264 over RTP (RFC 6184) without I/O: RTP packets in, Annex B access units out; and an SPS's picture size.

``H264Depacketizer`` takes the RTP packets of one stream in order (interleaved TCP: no reordering) and hands
out one ``H264Unit`` per picture: its NAL units with Annex B start codes (what FFmpeg's decoder and the MP4
muxer take), its RTP timestamp unwrapped to 64 bits, and whether it holds an IDR slice. Packetization mode 0
and 1: single NAL unit packets, STAP-A aggregates and FU-A fragments (section 5.8). A picture ends at the
RTP marker bit (section 5.1) or, for a sender that never sets it, when the timestamp changes.

A keyframe unit always starts with the stream's SPS and PPS: the ones it carries in-band, else the latest seen
(in-band or from the SDP's ``sprop-parameter-sets``), so a fresh decoder can start on any keyframe.

A lost packet (a gap in sequence numbers, or a fragment without its start) drops the picture it belonged to and
is counted in ``lost``; decoding resumes at the next keyframe as with any decoder after loss.
"""

from __future__ import annotations

import base64
import binascii
import struct
from typing import NamedTuple

START = b"\x00\x00\x00\x01"
_NAL_IDR, _NAL_SPS, _NAL_PPS, _STAP_A, _FU_A = 5, 7, 8, 24, 28
_MAX_UNIT_BYTES = 8_000_000  # a "picture" that never ends is a broken sender, not a picture


class H264Error(ValueError):
    """Bytes that are not what RFC 6184 (or H.264's SPS syntax) says; the message names what was found."""


class H264Unit(NamedTuple):
    """One picture (a tuple: one is made for every picture of every camera)."""

    data: bytes  # Annex B: start code + NAL unit, for each NAL unit of the picture
    timestamp: int  # RTP timestamp (clock of the SDP's rtpmap, 90 kHz for H.264) unwrapped, first unit's kept
    keyframe: bool  # holds an IDR slice


def parameter_sets(sprop: str | None) -> list[bytes]:
    """The NAL units of an SDP ``sprop-parameter-sets`` value (comma-separated base64, RFC 6184 section 8.1)."""
    if not sprop:
        return []
    try:
        return [base64.b64decode(part.strip(), validate=True) for part in sprop.split(",") if part.strip()]
    except (binascii.Error, ValueError):
        raise H264Error(f"expected base64 NAL units in sprop-parameter-sets, found {sprop[:40]!r}") from None


class H264Depacketizer:
    def __init__(self, sprop_nal_units: list[bytes] | None = None) -> None:
        self._sps = b""
        self._pps = b""
        for nal in sprop_nal_units or ():
            self._remember(nal)
        self._parts: list[bytes] = []  # Annex B pieces of the picture being assembled
        self._size = 0
        self._timestamp: int | None = None  # raw 32-bit RTP timestamp of the picture being assembled
        self._keyframe = False
        self._has_sps = self._has_pps = False
        self._broken = False  # a packet of this picture was lost: drop it
        self._fragment = False  # inside an FU-A
        self._seq: int | None = None
        self._last_ts: int | None = None
        self._extended = 0  # unwrapped timestamp of _last_ts
        self.lost = 0  # pictures dropped because a packet of theirs was missing
        self.packets = 0

    @property
    def sps(self) -> bytes:
        """The latest SPS NAL unit seen (without start code), b"" before any."""
        return self._sps

    @property
    def extradata(self) -> bytes:
        """SPS and PPS as Annex B (what FFmpeg's RTSP demuxer makes of sprop-parameter-sets), b"" before both."""
        return START + self._sps + START + self._pps if self._sps and self._pps else b""

    def push(self, packet: bytes) -> list[H264Unit]:
        """One RTP packet; the pictures it completed (usually none or one)."""
        if len(packet) < 12 or packet[0] >> 6 != 2:
            raise H264Error(f"expected an RTP version 2 packet, found {packet[:4].hex() or 'nothing'}")
        self.packets += 1
        first, second, seq, timestamp = struct.unpack_from("!BBHI", packet)
        start = 12 + 4 * (first & 0x0F)
        if first & 0x10:  # header extension (RFC 3550 section 5.3.1): skip it
            if len(packet) < start + 4:
                raise H264Error("expected an RTP header extension, found the packet's end")
            start += 4 + 4 * struct.unpack_from("!H", packet, start + 2)[0]
        end = len(packet) - (packet[-1] if first & 0x20 else 0)  # padding
        done: list[H264Unit] = []
        if self._timestamp is not None and timestamp != self._timestamp:
            self._finish(done)  # a sender that did not mark the picture's end
        if self._seq is not None and seq != (self._seq + 1) & 0xFFFF:
            self._broken = True
            self._fragment = False
        self._seq = seq
        if self._timestamp is None:
            self._timestamp = timestamp
        if start < end:
            self._payload(packet[start:end])
        if second & 0x80:  # marker: the last packet of the picture
            self._finish(done)
        return done

    def _payload(self, payload: bytes) -> None:
        kind = payload[0] & 0x1F
        if 0 < kind < 24:
            self._fragment = False
            self._nal(payload)
        elif kind == _STAP_A:
            self._fragment = False
            at = 1
            while at + 2 <= len(payload):
                (size,) = struct.unpack_from("!H", payload, at)
                if size == 0 or at + 2 + size > len(payload):
                    raise H264Error(f"expected a STAP-A unit of {size} bytes, found {len(payload) - at - 2}")
                self._nal(payload[at + 2 : at + 2 + size])
                at += 2 + size
        elif kind == _FU_A:
            if len(payload) < 2:
                raise H264Error("expected an FU-A header, found the packet's end")
            header = payload[1]
            if header & 0x80:  # start: the NAL unit's own header from the indicator's F|NRI and the FU's type
                self._fragment = True
                self._begin_nal(bytes(((payload[0] & 0xE0) | (header & 0x1F),)))
            elif not self._fragment:
                self._broken = True  # a fragment whose start was lost
                return
            self._append(payload[2:])
            if header & 0x40:
                self._fragment = False
        # 0, 25-27 (STAP-B, MTAPs: interleaved mode, not offered to clients that do not ask), 29-31: ignored

    def _nal(self, nal: bytes) -> None:
        self._remember(nal)  # an SPS or PPS comes whole (they are tiny): the latest is kept for later keyframes
        self._begin_nal(nal)

    def _begin_nal(self, head: bytes) -> None:
        kind = head[0] & 0x1F
        if kind == _NAL_IDR:
            self._keyframe = True
        elif kind == _NAL_SPS:
            self._has_sps = True
        elif kind == _NAL_PPS:
            self._has_pps = True
        self._parts.append(START)
        self._append(head)

    def _append(self, data: bytes) -> None:
        self._size += len(data)
        if self._size > _MAX_UNIT_BYTES:
            raise H264Error(f"expected a picture of at most {_MAX_UNIT_BYTES} bytes, found more (no end marked)")
        self._parts.append(data)

    def _finish(self, done: list[H264Unit]) -> None:
        parts, timestamp = self._parts, self._timestamp
        if parts and self._fragment:
            self._broken = True  # the picture ended inside a fragment
        if parts and timestamp is not None and not self._broken:
            data = b"".join(parts)
            if self._keyframe and not (self._has_sps and self._has_pps) and self._sps and self._pps:
                data = START + self._sps + START + self._pps + data
            done.append(H264Unit(data, self._unwrap(timestamp), self._keyframe))
        elif parts:
            self.lost += 1
        self._parts, self._size, self._timestamp = [], 0, None
        self._keyframe = self._has_sps = self._has_pps = self._broken = self._fragment = False

    def _remember(self, nal: bytes) -> None:
        kind = nal[0] & 0x1F if nal else 0
        if kind == _NAL_SPS:
            self._sps = nal
        elif kind == _NAL_PPS:
            self._pps = nal

    def _unwrap(self, timestamp: int) -> int:
        if self._last_ts is not None:
            step = (timestamp - self._last_ts) & 0xFFFFFFFF
            self._extended += step - (1 << 32) if step >= 1 << 31 else step
        self._last_ts = timestamp
        return self._extended


class _Bits:
    """Exp-Golomb reader over an RBSP (emulation prevention bytes removed)."""

    def __init__(self, data: bytes) -> None:
        self._value = int.from_bytes(data, "big")
        self._left = len(data) * 8

    def bits(self, n: int) -> int:
        if n > self._left:
            raise H264Error("expected more bits in the SPS, found its end")
        self._left -= n
        return (self._value >> self._left) & ((1 << n) - 1)

    def ue(self) -> int:
        zeros = 0
        while self.bits(1) == 0:
            zeros += 1
            if zeros > 31:
                raise H264Error("expected an Exp-Golomb code in the SPS, found 32 zero bits")
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        code = self.ue()
        return (code + 1) // 2 if code % 2 else -(code // 2)


_HIGH_PROFILES = frozenset({100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135})


def sps_dimensions(sps: bytes) -> tuple[int, int]:
    """Width and height in pixels of an SPS NAL unit (H.264 section 7.3.2.1.1, cropping applied)."""
    if not sps or sps[0] & 0x1F != _NAL_SPS:
        raise H264Error(f"expected an SPS NAL unit (type 7), found {sps[:1].hex() or 'nothing'}")
    bits = _Bits(sps[1:].replace(b"\x00\x00\x03", b"\x00\x00"))
    profile = bits.bits(8)
    bits.bits(16)  # constraint flags, level
    bits.ue()  # seq_parameter_set_id
    chroma = 1
    if profile in _HIGH_PROFILES:
        chroma = bits.ue()
        if chroma == 3:
            bits.bits(1)  # separate_colour_plane_flag
        bits.ue(), bits.ue()  # bit depths
        bits.bits(1)  # qpprime_y_zero_transform_bypass_flag
        if bits.bits(1):  # seq_scaling_matrix_present_flag
            for i in range(8 if chroma != 3 else 12):
                if bits.bits(1):
                    _skip_scaling_list(bits, 16 if i < 6 else 64)
    bits.ue()  # log2_max_frame_num_minus4
    poc_type = bits.ue()
    if poc_type == 0:
        bits.ue()
    elif poc_type == 1:
        bits.bits(1)
        bits.se(), bits.se()
        for _ in range(bits.ue()):
            bits.se()
    bits.ue()  # max_num_ref_frames
    bits.bits(1)  # gaps_in_frame_num_value_allowed_flag
    width_mbs, height_units = bits.ue() + 1, bits.ue() + 1
    frame_mbs_only = bits.bits(1)
    if not frame_mbs_only:
        bits.bits(1)  # mb_adaptive_frame_field_flag
    bits.bits(1)  # direct_8x8_inference_flag
    width, height = width_mbs * 16, (2 - frame_mbs_only) * height_units * 16
    if bits.bits(1):  # frame_cropping_flag
        left, right, top, bottom = bits.ue(), bits.ue(), bits.ue(), bits.ue()
        unit_x = 2 if chroma in (1, 2) else 1
        unit_y = (2 if chroma == 1 else 1) * (2 - frame_mbs_only)
        width -= unit_x * (left + right)
        height -= unit_y * (top + bottom)
    return width, height


def _skip_scaling_list(bits: _Bits, size: int) -> None:
    last = next_scale = 8
    for _ in range(size):
        if next_scale:
            next_scale = (last + bits.se() + 256) % 256
        last = next_scale or last
