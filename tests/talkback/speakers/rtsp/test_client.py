import pytest

from shopwatch.talkback.errors import NoBackchannel, SpeakerBusy, TalkbackAuthError, UnsupportedTalkCodec
from shopwatch.talkback.speakers.digest import DigestSigner
from shopwatch.talkback.speakers.rtsp.client import BACKCHANNEL_TAG, BackchannelClient, State
from shopwatch.talkback.speakers.rtsp.messages import NEED_DATA, RtspReader
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
        respond(client, retry, "401 Unauthorized", ['WWW-Authenticate: Digest realm="cam", nonce="n2"'])


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
