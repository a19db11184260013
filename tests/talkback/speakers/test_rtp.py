import pytest

from shopwatch.talkback.speakers.rtp import Packetizer, RtpPacket


def test_packet_round_trip_and_header_bits():
    pkt = RtpPacket(payload_type=8, sequence=65535, timestamp=0xFFFFFFFF, ssrc=0x01020304, payload=b"\xd5" * 160,
                    marker=True)  # fmt: skip
    wire = bytes(pkt)
    assert wire[:2] == b"\x80\x88"  # V=2, no padding/extension/CSRC; marker set, PT 8
    assert len(wire) == 12 + 160
    assert RtpPacket.parse(wire) == pkt


def test_packetizer_numbers_consecutively_from_random_bases():
    a, b = Packetizer(0), Packetizer(0)
    assert (a.ssrc, a.packet(b"x", 0).sequence) != (b.ssrc, b.packet(b"x", 0).sequence)
    p = Packetizer(0, ssrc=7)
    first, second, third = p.packet(b"a", 0, marker=True), p.packet(b"b", 160), p.packet(b"c", 320)
    assert [x.sequence for x in (second, third)] == [(first.sequence + 1) & 0xFFFF, (first.sequence + 2) & 0xFFFF]
    assert [(x.timestamp - first.timestamp) & 0xFFFFFFFF for x in (second, third)] == [160, 320]
    assert (first.marker, second.marker, first.ssrc) == (True, False, 7)
    assert (p.packets, p.octets) == (3, 3)


def test_parse_skips_csrc_extension_and_padding():
    header = bytes([0x80 | 0x20 | 0x10 | 1, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3])
    csrc = b"\x00\x00\x00\x09"
    extension = b"\xbe\xde\x00\x01" + b"\x00" * 4
    wire = header + csrc + extension + b"abc" + b"\x00\x02"  # 2 bytes of padding, the last says how many
    assert RtpPacket.parse(wire).payload == b"abc"


@pytest.mark.parametrize(
    ("wire", "error"),
    [(b"\x80\x00", "at least 12 bytes"), (b"\x40" + bytes(11), "version 2"), (b"\x8f" + bytes(11), "longer than")],
)
def test_parse_errors_say_what_was_wrong(wire, error):
    with pytest.raises(ValueError, match=error):
        RtpPacket.parse(wire)
