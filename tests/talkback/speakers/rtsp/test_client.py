import pytest

from shopwatch.core.errors import AuthRefused, DeviceBusy, DeviceNotSupported, DeviceRefused, PeerProtocolError
from shopwatch.rtsp.digest import DigestSigner
from shopwatch.rtsp.messages import NEED_DATA, RtspReader
from shopwatch.talkback.errors import (
    NoBackchannel,
    SpeakerBusy,
    TalkbackAuthError,
    TalkbackProtocolError,
    UnsupportedTalkCodec,
)
from shopwatch.talkback.speakers.rtsp.client import BACKCHANNEL_TAG, BackchannelClient, State
from tests.talkback.speakers.rtsp.test_sdp import GSTREAMER, ONLY_AAC

URL = "rtsp://127.0.0.1:8554/pcmu"


def parse_request(wire: bytes) -> tuple[str, str, dict[str, str]]:
    head = wire.decode().split("\r\n\r\n")[0].split("\r\n")
    method, uri, _ = head[0].split(" ")
    return method, uri, {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}


def respond(client, wire, status="200 OK", headers=(), body=b""):
    """Answer ``wire`` (a request) the way a server would, through the byte parser."""
    cseq = parse_request(wire)[2]["cseq"]
    lines = [f"RTSP/1.0 {status}", f"CSeq: {cseq}", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    reader = RtspReader()
    reader.receive_data(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    event = reader.next_event()
    assert event is not NEED_DATA
    return client.handle(event)


def handshake(client, sdp=GSTREAMER):
    """Run the handshake against a GStreamer-like server; returns every request sent, parsed."""
    sent = []
    wire = client.start(("PCMU", "PCMA"))
    sent.append(parse_request(wire))
    wire = respond(client, wire, headers=["Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER"])
    sent.append(parse_request(wire))
    wire = respond(client, wire, headers=["Content-Base: rtsp://127.0.0.1:8554/pcmu/", "Content-Type: application/sdp"],
                   body=sdp.encode())  # fmt: skip
    while wire is not None and parse_request(wire)[0] == "SETUP":
        sent.append(parse_request(wire))
        transport = sent[-1][2]["transport"].replace("client_port", "client_port") + ";server_port=6000-6001"
        wire = respond(client, wire, headers=["Session: 1234abcd;timeout=10", f"Transport: {transport}"])
    sent.append(parse_request(wire))
    assert respond(client, wire, headers=["Session: 1234abcd"]) is None
    return sent


def test_tcp_handshake_sets_up_every_track_with_the_tag_where_it_belongs():
    client = BackchannelClient(URL, None)
    sent = handshake(client)
    assert [m for m, _, _ in sent] == ["OPTIONS", "DESCRIBE", "SETUP", "SETUP", "PLAY"]
    assert "require" not in sent[0][2]
    assert all(h["require"] == BACKCHANNEL_TAG for _, _, h in sent[1:])
    assert [(u, h["transport"]) for _, u, h in sent[2:4]] == [
        ("rtsp://127.0.0.1:8554/pcmu/stream=0", "RTP/AVP/TCP;unicast;interleaved=0-1"),
        ("rtsp://127.0.0.1:8554/pcmu/stream=1", "RTP/AVP/TCP;unicast;interleaved=2-3"),
    ]
    assert sent[3][2]["session"] == "1234abcd" and "range" not in sent[4][2]
    assert sent[4][1] == "rtsp://127.0.0.1:8554/pcmu/"
    assert client.state is State.PLAYING
    assert (client.backchannel.rtp_channel, client.choice.codec, client.choice.payload_type) == (2, "PCMU", 0)
    assert client.keepalive_interval_s == 5  # half the announced timeout
    method, _, headers = parse_request(client.keepalive())
    assert (method, headers["session"]) == ("GET_PARAMETER", "1234abcd")
    assert respond(client, client.keepalive()) is None
    method, _, headers = parse_request(client.teardown())
    assert (method, headers["require"]) == ("TEARDOWN", BACKCHANNEL_TAG)
    assert client.state is State.CLOSING


def test_udp_handshake_asks_for_client_ports_and_reads_server_ports():
    ports = iter([(50000, 50001), (50002, 50003)])
    client = BackchannelClient(URL, None, allocate_ports=lambda: next(ports))
    sent = handshake(client)
    assert sent[3][2]["transport"] == "RTP/AVP;unicast;client_port=50002-50003"
    assert (client.backchannel.client_ports, client.backchannel.server_ports) == ((50002, 50003), (6000, 6001))


def test_digest_challenge_is_answered_once_then_wrong_credentials_fail():
    client = BackchannelClient(URL, DigestSigner("admin", "pw"))
    wire = client.start(("PCMU",))
    retry = respond(client, wire, "401 Unauthorized", ['WWW-Authenticate: Digest realm="cam", nonce="n1"'])
    method, _, headers = parse_request(retry)
    assert method == "OPTIONS" and headers["authorization"].startswith("Digest ")
    assert int(headers["cseq"]) == 2
    with pytest.raises(TalkbackAuthError, match="refused the credentials"):
        respond(client, retry, "401 Unauthorized", ['WWW-Authenticate: Digest realm="cam", nonce="n1"'])


def test_login_needed_without_credentials():
    client = BackchannelClient(URL, None)
    with pytest.raises(TalkbackAuthError, match="has none"):
        respond(client, client.start(("PCMU",)), "401 Unauthorized", ['WWW-Authenticate: Basic realm="x"'])


@pytest.mark.parametrize(
    ("status", "headers", "body", "error", "match"),
    [
        ("551 Option not supported", [f"Unsupported: {BACKCHANNEL_TAG}"], b"", NoBackchannel, "no audio backchannel"),
        ("200 OK", [], b"v=0\nm=video 0 RTP/AVP 96\na=recvonly\n", NoBackchannel, "no sendonly track"),
        ("200 OK", [], ONLY_AAC.encode(), UnsupportedTalkCodec, "MPEG4-GENERIC/16000"),
    ],
)
def test_describe_outcomes(status, headers, body, error, match):
    client = BackchannelClient(URL, None)
    describe = respond(client, client.start(("PCMU", "PCMA")))
    with pytest.raises(error, match=match):
        respond(client, describe, status, headers, body)


def test_busy_backchannel_setup_and_teardown_of_the_half_made_session():
    client = BackchannelClient(URL, None)
    describe = respond(client, client.start(("PCMU",)))
    setup_video = respond(client, describe, body=GSTREAMER.encode())
    setup_back = respond(client, setup_video, headers=["Session: s1", "Transport: RTP/AVP/TCP;interleaved=0-1"])
    with pytest.raises(SpeakerBusy, match="in use"):
        respond(client, setup_back, "453 Not Enough Bandwidth")
    assert parse_request(client.teardown())[0] == "TEARDOWN"


def test_no_session_means_no_teardown_and_stale_answers_are_ignored():
    client = BackchannelClient(URL, None)
    wire = client.start(("PCMU",))
    assert client.teardown() is None and client.state is State.CLOSED
    assert respond(client, wire.replace(b"CSeq: 1", b"CSeq: 99")) is None


def test_the_backchannel_alone_is_set_up_where_the_camera_is_configured_so():
    client = BackchannelClient(URL, None, backchannel_only=True)
    sent = handshake(client)
    assert [(m, u) for m, u, _ in sent] == [
        ("OPTIONS", URL), ("DESCRIBE", URL), ("SETUP", "rtsp://127.0.0.1:8554/pcmu/stream=1"),
        ("PLAY", "rtsp://127.0.0.1:8554/pcmu/"),
    ]  # fmt: skip
    assert sent[2][2]["transport"] == "RTP/AVP/TCP;unicast;interleaved=0-1"
    assert client.state is State.PLAYING and client.backchannel.rtp_channel == 0


def test_a_camera_that_refuses_play_on_the_backchannel_alone_gets_its_other_tracks():
    client = BackchannelClient(URL, None, backchannel_only=True)
    describe = respond(client, client.start(("PCMU",)))
    setup_back = respond(client, describe, body=GSTREAMER.encode())
    play = respond(client, setup_back, headers=["Session: s1", "Transport: RTP/AVP/TCP;interleaved=0-1"])
    setup_video = respond(client, play, "455 Method Not Valid in This State")
    method, uri, headers = parse_request(setup_video)
    assert (method, uri, headers["session"]) == ("SETUP", "rtsp://127.0.0.1:8554/pcmu/stream=0", "s1")
    assert headers["transport"] == "RTP/AVP/TCP;unicast;interleaved=2-3"
    play_again = respond(client, setup_video, headers=["Session: s1", "Transport: RTP/AVP/TCP;interleaved=2-3"])
    assert parse_request(play_again)[0] == "PLAY"
    assert respond(client, play_again) is None and client.state is State.PLAYING
    assert client.backchannel.rtp_channel == 0


def test_a_refused_video_setup_is_left_out():
    client = BackchannelClient(URL, None)
    describe = respond(client, client.start(("PCMU",)))
    setup_video = respond(client, describe, body=GSTREAMER.encode())
    setup_back = respond(client, setup_video, "461 Unsupported Transport")
    assert parse_request(setup_back)[1] == "rtsp://127.0.0.1:8554/pcmu/stream=1"
    play = respond(client, setup_back, headers=["Session: s1", "Transport: RTP/AVP/TCP;interleaved=0-1"])
    assert respond(client, play) is None and client.state is State.PLAYING
    assert [t.sendonly for t in client.tracks] == [True]


def playing(auth=None):
    """A client in PLAYING state after a backchannel-only handshake (Session timeout=4)."""
    client = BackchannelClient(URL, auth, backchannel_only=True)
    wire = client.start(("PCMU",))
    if auth is not None:
        wire = respond(client, wire, "401 Unauthorized", ['WWW-Authenticate: Digest realm="cam", nonce="n1"'])
    describe = respond(client, wire, headers=["Public: OPTIONS, DESCRIBE, SETUP, PLAY, GET_PARAMETER"])
    setup = respond(client, describe, body=GSTREAMER.encode())
    play = respond(client, setup, headers=["Session: s1;timeout=4", "Transport: RTP/AVP/TCP;interleaved=0-1"])
    assert respond(client, play) is None and client.state is State.PLAYING
    return client


def test_a_30_s_talk_survives_451_keepalives_and_a_new_nonce():
    """Byte for byte what a 30 s talk exchanges with a server that says ``timeout=4``, answers GET_PARAMETER
    with 451 and after 12 s challenges again with a new nonce; the client is sans-IO, so no wall time."""
    client = playing(DigestSigner("admin", "pw"))
    assert client.keepalive_interval_s == 2
    methods, nonces = [], []
    for tick in range(15):  # every 2 s for 30 s
        wire = client.keepalive()
        method, _, headers = parse_request(wire)
        methods.append(method)
        nonces.append(headers["authorization"].split('nonce="')[1].split('"')[0])
        if tick == 6:
            wire = respond(client, wire, "401 Unauthorized", ['WWW-Authenticate: Digest realm="cam", nonce="n2"'])
            assert parse_request(wire)[2]["authorization"].count('nonce="n2"') == 1
        status = "451 Parameter Not Understood" if method == "GET_PARAMETER" else "200 OK"
        assert respond(client, wire, status) is None
        assert client.state is State.PLAYING
    assert methods == ["GET_PARAMETER"] + ["OPTIONS"] * 14  # 451 once: OPTIONS from then on
    assert nonces[:7] == ["n1"] * 7 and nonces[7:] == ["n2"] * 8


def test_a_dropped_session_ends_the_talk_and_the_same_nonce_refused_is_the_login():
    client = playing()
    with pytest.raises(TalkbackProtocolError, match="454"):
        respond(client, client.keepalive(), "454 Session Not Found")
    client = playing(DigestSigner("admin", "pw"))
    with pytest.raises(TalkbackAuthError, match="refused the credentials"):
        respond(client, client.keepalive(), "401 Unauthorized", ['WWW-Authenticate: Digest realm="cam", nonce="n1"'])


@pytest.mark.parametrize(
    ("method", "status"), [("OPTIONS", "200 OK"), ("GET_PARAMETER", "200 OK"), ("ANNOUNCE", "501 Not Implemented")]
)
def test_requests_from_the_server_are_answered(method, status):
    client = playing()
    reader = RtspReader()
    reader.receive_data(f"{method} {URL} RTSP/1.0\r\nCSeq: 7\r\n\r\n".encode())
    answer = client.answer(reader.next_event()).decode()
    assert answer.startswith(f"RTSP/1.0 {status}\r\nCSeq: 7\r\n") and "Session: s1" in answer


@pytest.mark.parametrize(
    ("status", "kind", "sentence"),
    [
        ("403 Forbidden", AuthRefused, "does not let this account use the stream"),
        ("404 Not Found", DeviceRefused, "no stream at this path"),
        ("453 Not Enough Bandwidth", DeviceBusy, "in use by another client"),
        ("461 Unsupported Transport", DeviceNotSupported, "does not take audio over this transport"),
        ("503 Service Unavailable", DeviceBusy, "in use by another client"),
        ("500 Internal Server Error", PeerProtocolError, "the camera refused"),
    ],
)
def test_a_refused_backchannel_setup_means_what_the_status_says(status, kind, sentence):
    client = BackchannelClient(URL, None)
    describe = respond(client, client.start(("PCMU",)))
    setup_video = respond(client, describe, body=GSTREAMER.encode())
    setup_back = respond(client, setup_video, headers=["Session: s1", "Transport: RTP/AVP/TCP;interleaved=0-1"])
    with pytest.raises(kind, match=sentence):
        respond(client, setup_back, status)


@pytest.mark.parametrize(
    ("status", "kind"), [("403 Forbidden", AuthRefused), ("404 Not Found", DeviceRefused), ("503 x", DeviceBusy)]
)
def test_a_refused_describe_means_what_the_status_says(status, kind):
    client = BackchannelClient(URL, None)
    describe = respond(client, client.start(("PCMU",)))
    with pytest.raises(kind):
        respond(client, describe, status)
