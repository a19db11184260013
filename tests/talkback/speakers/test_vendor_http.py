"""ISAPI and Dahua links against the fake devices (``shopwatch.sim.isapi``/``dahua``) on loopback."""

import asyncio

import pytest

from shopwatch.sim.dahua import FakeDahua
from shopwatch.sim.isapi import FakeIsapi
from shopwatch.talkback import audio, g711
from shopwatch.talkback.errors import SpeakerBusy, TalkbackAuthError, UnsupportedTalkCodec
from shopwatch.talkback.player import talk
from shopwatch.talkback.speakers.isapi import parse_channels
from shopwatch.talkback.target import parse_target

CH = "/ISAPI/System/TwoWayAudio/channels"
TONE = audio.tone(1000, 1.0)


def assert_real_time(upload, seconds):
    """The device got the audio at the pace it plays: never more than ~100 ms ahead of real time."""
    start = upload.arrivals[0][0]
    received = 0
    for at, chunk in upload.arrivals:
        received += len(chunk)
        assert received / 8000 <= (at - start) + 0.1
    assert upload.arrivals[-1][0] - start == pytest.approx(seconds - 0.02, abs=0.05)


@pytest.mark.parametrize(("codec", "expected"), [("G.711ulaw", "PCMU"), ("G.711alaw", "PCMA")])
async def test_isapi_call_order_bytes_and_pacing(codec, expected):
    with FakeIsapi(codec=codec) as dev:
        result = await talk(parse_target(dev.url()), audio.iter_frames(TONE))
        upload = await asyncio.to_thread(dev.wait_upload_ended, 3.0)
        assert result.codec == expected
        assert dev.calls == [f"GET {CH}", f"GET {CH}", f"PUT {CH}/1/close", f"PUT {CH}/1/open",
                             f"PUT {CH}/1/audioData", f"PUT {CH}/1/close"]  # fmt: skip (first GET: the 401)
        assert upload.data == g711.encode(expected, TONE)
        assert upload.content_type == "application/octet-stream"
        assert_real_time(upload, 1.0)


async def test_isapi_stale_session_is_closed_then_opened():
    with FakeIsapi(stale=True) as dev:
        result = await talk(parse_target(dev.url()), audio.iter_frames(TONE))
        assert result.packets == 50 and not dev.session_open


async def test_isapi_busy_speaker_wrong_password_and_unsupported_codec():
    with FakeIsapi(busy=True) as dev:
        with pytest.raises(SpeakerBusy, match="in use"):
            await talk(parse_target(dev.url()), audio.iter_frames(TONE))
        assert dev.calls[-1] == f"PUT {CH}/1/close"  # closed after the failed open too
    with FakeIsapi() as dev:
        with pytest.raises(TalkbackAuthError) as caught:
            await talk(parse_target(dev.url(password="wrong-pw")), audio.iter_frames(TONE))
        assert "wrong-pw" not in str(caught.value)
    with FakeIsapi(codec="G.726") as dev, pytest.raises(UnsupportedTalkCodec, match="G.726"):
        await talk(parse_target(dev.url()), audio.iter_frames(TONE))


def test_channel_list_parsing_ignores_namespaces():
    xml = (b'<TwoWayAudioChannelList xmlns="http://www.hikvision.com/ver20/XMLSchema"><TwoWayAudioChannel>'
           b"<id>1</id><audioCompressionType>G.711alaw</audioCompressionType></TwoWayAudioChannel>"
           b"<TwoWayAudioChannel><id>2</id><audioCompressionType>AAC</audioCompressionType></TwoWayAudioChannel>"
           b"</TwoWayAudioChannelList>")  # fmt: skip
    assert parse_channels(xml) == [("1", "G.711alaw"), ("2", "AAC")]


@pytest.mark.parametrize("httptype", ["singlepart", "multipart"])
async def test_dahua_upload_bytes_order_and_pacing(httptype):
    with FakeDahua() as dev:
        result = await talk(parse_target(dev.url(httptype=httptype)), audio.iter_frames(TONE))
        upload = await asyncio.to_thread(dev.wait_upload_ended, 3.0)
        assert result.codec == "PCMA"
        assert dev.calls == ["GET /cgi-bin/magicBox.cgi", "GET /cgi-bin/magicBox.cgi", "POST /cgi-bin/audio.cgi"]
        assert upload.data == g711.encode("PCMA", TONE)
        assert upload.content_type.startswith("Audio/G.711A" if httptype == "singlepart" else "multipart/")
        assert_real_time(upload, 1.0)


async def test_dahua_mu_law_on_request_and_wrong_password():
    with FakeDahua() as dev:
        url = dev.url() + "&codec=PCMU"
        result = await talk(parse_target(url), audio.iter_frames(TONE))
        upload = await asyncio.to_thread(dev.wait_upload_ended, 3.0)
        assert (result.codec, upload.content_type) == ("PCMU", "Audio/G.711Mu")
        with pytest.raises(TalkbackAuthError):
            await talk(parse_target(dev.url(password="nope-nope")), audio.iter_frames(TONE))
