import pytest

from shopwatch.rtsp.messages import (
    NEED_DATA,
    InterleavedFrame,
    RtspProtocolError,
    RtspReader,
    RtspRequest,
    RtspResponse,
    ServerRequest,
    interleave,
)


def test_request_bytes():
    req = RtspRequest("SETUP", "rtsp://h/s/track1", (("CSeq", "3"), ("Transport", "RTP/AVP/TCP;interleaved=0-1")))
    assert bytes(req) == (
        b"SETUP rtsp://h/s/track1 RTSP/1.0\r\nCSeq: 3\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n\r\n"
    )


def events(reader):
    out = []
    while (event := reader.next_event()) is not NEED_DATA:
        out.append(event)
    return out


def test_responses_and_interleaved_frames_split_anywhere():
    wire = (
        b"RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: 5\r\n\r\nv=0\r\n"
        + interleave(1, b"\x80rtcp")
        + b"RTSP/1.0 551 Option not supported\r\nCSeq: 3\r\nUnsupported: www.onvif.org/ver20/backchannel\r\n\r\n"
        + b"GET_PARAMETER rtsp://client RTSP/1.0\r\nCSeq: 1\r\n\r\n"
    )
    for step in (1, 3, 7, len(wire)):
        reader = RtspReader()
        got = []
        for i in range(0, len(wire), step):
            reader.receive_data(wire[i : i + step])
            got += events(reader)
        assert got == [
            RtspResponse(200, "OK", {"cseq": ["2"], "content-type": ["application/sdp"], "content-length": ["5"]},
                         b"v=0\r\n"),
            InterleavedFrame(1, b"\x80rtcp"),
            RtspResponse(551, "Option not supported",
                         {"cseq": ["3"], "unsupported": ["www.onvif.org/ver20/backchannel"]}),
            ServerRequest("GET_PARAMETER", {"cseq": ["1"]}, "rtsp://client"),
        ]  # fmt: skip
        assert got[0].cseq == 2


def test_repeated_headers_are_all_kept():
    reader = RtspReader()
    reader.receive_data(b'RTSP/1.0 401 Unauthorized\r\nCSeq: 1\r\nWWW-Authenticate: Digest realm="a", nonce="n"\r\n'
                        b'WWW-Authenticate: Basic realm="a"\r\n\r\n')  # fmt: skip
    (response,) = events(reader)
    assert response.headers["www-authenticate"] == ['Digest realm="a", nonce="n"', 'Basic realm="a"']


def test_eof_is_noted():
    reader = RtspReader()
    reader.receive_data(b"")
    assert reader.closed and reader.next_event() is NEED_DATA


@pytest.mark.parametrize(
    ("wire", "error"),
    [
        (b"\x00\x01garbage", "expected an RTSP message"),
        (b"RTSP/1.0 abc OK\r\n\r\n", "expected 'RTSP/1.0 <status>"),
        (b"RTSP/1.0 200 OK\r\nno colon here\r\n\r\n", "Name: value"),
        (b"RTSP/1.0 200 OK\r\nContent-Length: 99999999\r\n\r\n", "Content-Length"),
        (b"RTSP/1.0 200 OK\r\n" + b"X: y\r\n" * 5000, "within 16384 bytes"),
    ],
)
def test_garbage_is_a_protocol_error(wire, error):
    reader = RtspReader()
    reader.receive_data(wire)
    with pytest.raises(RtspProtocolError, match=error):
        events(reader)


def test_interleave_refuses_oversized():
    with pytest.raises(ValueError, match="65535"):
        interleave(0, bytes(70000))
