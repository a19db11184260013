"""The RTSP backchannel against a fake speaker that answers like field devices (``shopwatch.sim.rtsp_speaker``):
short session timeouts, 451 keepalives, nonces that change mid-talk, the server's own OPTIONS, a refused video
SETUP, a camera that wants every track, and the RTP shapes some doorbells need."""

from dataclasses import replace

import pytest

from shopwatch.core.talkback_config import RtpProfile
from shopwatch.sim.rtsp_speaker import FakeRtspSpeaker
from shopwatch.talkback import audio, g711
from shopwatch.talkback.player import talk
from shopwatch.talkback.target import parse_target

pytestmark = pytest.mark.rtsp


def requests(dev, method):
    return [r for r in dev.log.requests if r.startswith(method + " ")]


async def test_a_talk_outlives_the_session_timeout_with_451_keepalives_and_a_new_nonce():
    """Session timeout 2 s (keepalive every second), GET_PARAMETER answered 451, the nonce replaced after
    1.5 s, the server's own OPTIONS every 0.8 s: a 4 s talk plays whole and the session is never dropped."""
    tone = audio.tone(700, 4.0)
    with FakeRtspSpeaker(session_timeout_s=2, get_parameter_status="451 Parameter Not Understood",
                         rechallenge_after_s=1.5, server_options_every_s=0.8) as dev:  # fmt: skip
        result = await talk(replace(parse_target(dev.url()), drain_s=0.0), audio.iter_frames(tone))
        assert requests(dev, "SETUP") == ["SETUP 200"]  # the backchannel alone, by default
        assert result.packets == 200 and dev.log.audio == g711.encode("PCMU", tone)
        assert not dev.log.expired
        assert requests(dev, "GET_PARAMETER") == ["GET_PARAMETER 451"]  # then OPTIONS from the client
        assert len(requests(dev, "OPTIONS")) >= 3  # the first, then keepalives
        assert dev.log.rechallenges >= 1 and "OPTIONS 401" in dev.log.requests  # signed again, went on
        assert dev.log.server_options_answered >= 2
        assert dev.log.requests[-1] == "TEARDOWN 200"


async def test_only_the_backchannel_is_set_up_by_default():
    with FakeRtspSpeaker(refuse_video_setup=True) as dev:
        result = await talk(parse_target(dev.url()), audio.iter_frames(audio.tone(500, 0.5)))
        assert result.packets == 25 and len(dev.log.packets) == 25
        assert requests(dev, "SETUP") == ["SETUP 200"]  # the backchannel alone


async def test_a_refused_video_setup_is_left_out_where_every_track_is_configured():
    with FakeRtspSpeaker(refuse_video_setup=True) as dev:
        target = replace(parse_target(dev.url()), backchannel_only=False)
        result = await talk(target, audio.iter_frames(audio.tone(500, 0.5)))
        assert result.packets == 25 and len(dev.log.packets) == 25
        assert requests(dev, "SETUP") == ["SETUP 461", "SETUP 200"]


async def test_a_camera_that_insists_on_every_track_gets_them_after_its_refusal():
    with FakeRtspSpeaker(insist_on_all_tracks=True) as dev:
        result = await talk(parse_target(dev.url()), audio.iter_frames(audio.tone(500, 0.5)))
        assert result.packets == 25 and len(dev.log.packets) == 25
        assert requests(dev, "PLAY") == ["PLAY 455", "PLAY 200"]
        assert requests(dev, "SETUP") == ["SETUP 200", "SETUP 200"]


@pytest.mark.parametrize(
    ("profile", "sizes", "markers"),
    [
        (RtpProfile(), [160] * 25, [True] + [False] * 24),
        (RtpProfile(packet_bytes=1024, marker="every"), [1024, 1024, 1024, 928], [True] * 4),  # go2rtc#331
        (RtpProfile(packet_bytes=320, marker="never"), [320] * 12 + [160], [False] * 13),
    ],
)
async def test_the_rtp_profile_shapes_the_packets(profile, sizes, markers):
    tone = audio.tone(500, 0.5)
    with FakeRtspSpeaker() as dev:
        target = replace(parse_target(dev.url()), rtp=profile, drain_s=0.0)
        await talk(target, audio.iter_frames(tone))
        assert [len(p.payload) for p in dev.log.packets] == sizes
        assert [p.marker for p in dev.log.packets] == markers
        assert dev.log.audio == g711.encode("PCMU", tone)
        stamps = [p.timestamp - dev.log.packets[0].timestamp for p in dev.log.packets]
        assert stamps == [sum(sizes[:i]) for i in range(len(sizes))]  # one tick per G.711 byte
