"""RtspPlayer driven with bytes alone: the answers a GStreamer RTSP server gives (captured shapes), and errors."""

from __future__ import annotations

import base64

import pytest

from shopwatch.core.errors import AuthRefused, PeerProtocolError, UnsupportedCodec
from shopwatch.rtsp.h264 import START
from shopwatch.rtsp.messages import NEED_DATA, RtspReader, RtspRequest, interleave
from shopwatch.rtsp.play import PlayState, RtspPlayer, RtspRefused
from tests.rtsp.test_h264 import IDR, P_SLICE, PPS, SPS, rtp

URL = "rtsp://127.0.0.1:8554/cam-1"
SPROP = f"{base64.b64encode(SPS).decode()},{base64.b64encode(PPS).decode()}"
SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\nt=0 0\r\na=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    f"a=fmtp:96 packetization-mode=1;profile-level-id=64001e;sprop-parameter-sets={SPROP}\r\n"
    "a=control:stream=0\r\n"
)


def sent(data: bytes) -> RtspRequest:
    reader = RtspReader()
    reader.receive_data(data)
    event = reader.next_event()
    assert event is not NEED_DATA and hasattr(event, "method")
    return RtspRequest(event.method, event.uri, tuple((k, v[0]) for k, v in event.headers.items()))  # type: ignore[union-attr]


def answer(request: RtspRequest, status: str = "200 OK", headers: tuple[str, ...] = (), body: str = "") -> bytes:
    cseq = dict(request.headers)["cseq"]
    lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body.encode())}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def play(player: RtspPlayer, sdp: str = SDP) -> RtspRequest:
    """Drive OPTIONS .. PLAY with a server's ordinary answers; the PLAY request."""
    options = sent(player.start())
    assert options.method == "OPTIONS"
    out, _ = player.receive(answer(options, headers=("Public: OPTIONS, DESCRIBE, GET_PARAMETER, SETUP, PLAY",)))
    describe = sent(out)
    assert describe.method == "DESCRIBE" and dict(describe.headers)["accept"] == "application/sdp"
    out, _ = player.receive(answer(describe, headers=(f"Content-Base: {URL}/",), body=sdp))
    setup = sent(out)
    assert (setup.uri, dict(setup.headers)["transport"]) == (f"{URL}/stream=0", "RTP/AVP/TCP;unicast;interleaved=0-1")
    transport = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1"
    out, _ = player.receive(answer(setup, headers=("Session: abc123;timeout=30", transport)))
    request = sent(out)
    assert request.method == "PLAY" and dict(request.headers)["session"] == "abc123"
    return request


def test_plays_and_hands_out_pictures_from_interleaved_rtp() -> None:
    player = RtspPlayer(URL)
    request = play(player)
    assert player.track is not None and (player.track.width, player.track.height) == (640, 360)
    assert player.track.extradata == START + SPS + START + PPS
    reply = answer(request, headers=("Session: abc123",))
    out, pictures = player.receive(reply + interleave(0, rtp(IDR, 1, 0, marker=True)) + interleave(1, b"\x80\xc8rtcp"))
    assert out == b"" and player.state is PlayState.PLAYING and player.keepalive_interval_s == 15
    out, more = player.receive(interleave(0, rtp(P_SLICE, 2, 7500, marker=True))[:9])  # split mid-frame
    assert more == []
    _, more = player.receive(interleave(0, rtp(P_SLICE, 2, 7500, marker=True))[9:])
    assert [(p.keyframe, p.timestamp) for p in pictures + more] == [(True, 0), (False, 7500)]
    assert pictures[0].data == START + SPS + START + PPS + START + IDR  # a fresh decoder can start on it
    keepalive = sent(player.keepalive())
    assert (keepalive.method, dict(keepalive.headers)["session"]) == ("GET_PARAMETER", "abc123")
    player.receive(answer(keepalive, "451 Parameter Not Understood"))
    assert sent(player.keepalive()).method == "OPTIONS"


def test_answers_the_servers_own_keepalive() -> None:
    player = RtspPlayer(URL)
    play(player)
    out, _ = player.receive(b"GET_PARAMETER rtsp://x RTSP/1.0\r\nCSeq: 7\r\n\r\n")
    assert out == b"RTSP/1.0 200 OK\r\nCSeq: 7\r\nSession: abc123\r\n\r\n"


def test_signs_in_with_digest_after_the_challenge() -> None:
    player = RtspPlayer(URL, "admin", "pw")
    options = sent(player.start())
    challenge = 'WWW-Authenticate: Digest realm="sim", nonce="n1"'
    out, _ = player.receive(answer(options, "401 Unauthorized", (challenge,)))
    retry = sent(out)
    assert retry.method == "OPTIONS" and dict(retry.headers)["authorization"].startswith('Digest username="admin"')
    out, _ = player.receive(answer(retry))
    assert "authorization" in dict(sent(out).headers)  # DESCRIBE signed at once


@pytest.mark.parametrize(
    ("username", "status", "headers", "error", "message"),
    [
        ("admin", "401 Unauthorized", ('WWW-Authenticate: Digest realm="sim", nonce="n1"',), AuthRefused,
         r"refused the credentials for rtsp://127.0.0.1:8554/cam-1 \(RTSP 401\)"),
        (None, "401 Unauthorized", ('WWW-Authenticate: Basic realm="sim"',), AuthRefused, "none is configured"),
        ("admin", "401 Unauthorized", ('WWW-Authenticate: Negotiate x',), AuthRefused, "expected a Basic or Digest"),
        (None, "403 Forbidden", (), AuthRefused, r"does not let this account play .* \(OPTIONS: 403 Forbidden\)"),
        (None, "404 Not Found", (), RtspRefused, r"no stream at rtsp://127.0.0.1:8554/cam-1 \(OPTIONS: 404"),
        (None, "503 Service Unavailable", (), RtspRefused, "refused to play .* 503 Service Unavailable"),
    ],
)  # fmt: skip
def test_refusals_raise_what_an_operator_can_act_on(
    username: str | None, status: str, headers: tuple[str, ...], error: type[Exception], message: str
) -> None:
    player = RtspPlayer(URL, username, "pw" if username else None)
    request = sent(player.start())
    with pytest.raises(error, match=message):
        out, _ = player.receive(answer(request, status, headers))
        player.receive(answer(sent(out), status, headers))  # the signed retry, refused with the same nonce


@pytest.mark.parametrize(
    ("sdp", "error", "message"),
    [
        ("v=0\r\nm=audio 0 RTP/AVP 0\r\n", PeerProtocolError, "expected a video track .* found audio"),
        ("v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H265/90000\r\n", UnsupportedCodec, "expected H.264 .* found H265"),
        ("v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 sprop-parameter-sets=Z@@\r\n",
         PeerProtocolError, "sprop-parameter-sets, found 'Z@@'"),
    ],
)  # fmt: skip
def test_descriptions_it_cannot_play(sdp: str, error: type[Exception], message: str) -> None:
    player = RtspPlayer(URL)
    out, _ = player.receive(answer(sent(player.start())))
    with pytest.raises(error, match=message):
        player.receive(answer(sent(out), body=sdp))


def test_garbage_instead_of_rtsp_is_a_protocol_error() -> None:
    player = RtspPlayer(URL)
    player.start()
    with pytest.raises(PeerProtocolError, match="expected an RTSP message"):
        player.receive(b"\x16\x03\x01 hello")


def test_session_gone_on_keepalive_ends_the_play() -> None:
    player = RtspPlayer(URL)
    player.receive(answer(play(player)))
    with pytest.raises(RtspRefused, match="dropped the session"):
        player.receive(answer(sent(player.keepalive()), "454 Session Not Found"))
