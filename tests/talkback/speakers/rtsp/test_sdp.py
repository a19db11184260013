import pytest

from shopwatch.rtsp.sdp import control_url, parse_sdp
from shopwatch.talkback.speakers.rtsp.sdp import offered, select_backchannel

# What GStreamer 1.22's RTSPOnvifServer answered (seen): one video track, one sendonly PCMU track.
GSTREAMER = """v=0
o=- 1188340656180883 1 IN IP4 127.0.0.1
s=Session streamed with GStreamer
t=0 0
a=tool:GStreamer
a=type:broadcast
a=control:*
a=range:npt=now-
m=video 0 RTP/AVP 26
c=IN IP4 0.0.0.0
a=rtpmap:26 JPEG/90000
a=control:stream=0
a=recvonly
m=audio 0 RTP/AVP 0
c=IN IP4 0.0.0.0
b=AS:64
a=rtpmap:0 PCMU/8000
a=control:stream=1
a=sendonly
"""

# One section per codec (AXIS-style layout), and several payload types in one section (Hikvision-style).
PER_CODEC = """v=0
m=audio 0 RTP/AVP 97
a=rtpmap:97 MPEG4-GENERIC/16000/1
a=control:trackID=2
a=sendonly
m=audio 0 RTP/AVP 8
a=control:trackID=3
a=sendonly
"""
ONE_SECTION = """v=0
m=video 0 RTP/AVP 96
a=control:trackID=1
a=recvonly
m=audio 0 RTP/AVP 98 0 8
a=rtpmap:98 G726-32/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=control:rtsp://10.0.0.5/Streaming/Channels/101/trackID=4
a=sendonly
"""
NO_BACK = "v=0\nm=video 0 RTP/AVP 96\na=recvonly\nm=audio 0 RTP/AVP 0\na=recvonly\n"
ONLY_AAC = "v=0\nm=audio 0 RTP/AVP 97\na=rtpmap:97 MPEG4-GENERIC/16000\na=sendonly\n"


@pytest.mark.parametrize(
    ("sdp", "preference", "expected"),
    [
        (GSTREAMER, ("PCMU", "PCMA"), (1, "PCMU", 0, "stream=1")),
        (PER_CODEC, ("PCMU", "PCMA"), (1, "PCMA", 8, "trackID=3")),  # static PT 8 without rtpmap
        (ONE_SECTION, ("PCMU", "PCMA"), (1, "PCMU", 0, "rtsp://10.0.0.5/Streaming/Channels/101/trackID=4")),
        (ONE_SECTION, ("PCMA", "PCMU"), (1, "PCMA", 8, "rtsp://10.0.0.5/Streaming/Channels/101/trackID=4")),
        (NO_BACK, ("PCMU", "PCMA"), None),
        (ONLY_AAC, ("PCMU", "PCMA"), None),
    ],
)
def test_backchannel_track_and_codec(sdp, preference, expected):
    parsed = parse_sdp(sdp)
    choice = select_backchannel(parsed, preference)
    got = None if choice is None else (choice.section, choice.codec, choice.payload_type,
                                       parsed.media[choice.section].control)  # fmt: skip
    assert got == expected


def test_directions_formats_and_offers():
    parsed = parse_sdp(GSTREAMER)
    assert parsed.control == "*"
    assert [(m.kind, m.direction) for m in parsed.media] == [("video", "recvonly"), ("audio", "sendonly")]
    assert offered(parse_sdp(ONLY_AAC)) == ["MPEG4-GENERIC/16000"]


@pytest.mark.parametrize(
    ("base", "control", "expected"),
    [
        ("rtsp://h/pcmu/", "stream=1", "rtsp://h/pcmu/stream=1"),
        ("rtsp://h/pcmu", "stream=1", "rtsp://h/pcmu/stream=1"),
        ("rtsp://h/pcmu/", "*", "rtsp://h/pcmu/"),
        ("rtsp://h/a", "rtsp://other/b", "rtsp://other/b"),
        # Dahua: the base carries a query, kept as FFmpeg keeps it
        ("rtsp://h/cam/realmonitor?channel=1&proto=Onvif/", "trackID=5",
         "rtsp://h/cam/realmonitor?channel=1&proto=Onvif/trackID=5"),
    ],
)  # fmt: skip
def test_control_url(base, control, expected):
    assert control_url(base, control) == expected
