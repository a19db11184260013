"""ISAPI and Dahua links against the fake devices (``shopwatch.sim.isapi``/``dahua``) on loopback."""

import asyncio
from dataclasses import replace

import pytest

from shopwatch.core.errors import AuthRefused, DeviceBusy, DeviceNotSupported
from shopwatch.sim.dahua import FakeDahua
from shopwatch.sim.isapi import FakeIsapi
from shopwatch.talkback import audio, g711
from shopwatch.talkback.errors import NoBackchannel, SpeakerBusy, TalkbackAuthError, UnsupportedTalkCodec
from shopwatch.talkback.player import talk
from shopwatch.talkback.speakers.dahua import STREAM_LENGTH
from shopwatch.talkback.speakers.isapi import parse_channels
from shopwatch.talkback.target import parse_target

CH = "/ISAPI/System/TwoWayAudio/channels"
TONE = audio.tone(1000, 1.0)


def assert_real_time(upload, seconds):
    """The device got the audio at the pace it plays: never more than ~100 ms ahead of real time."""
    start, first = upload.arrivals[0]
    # the fake reads in a thread: on a loaded machine its first read can hold several frames already sent
    slack = 0.1 + len(first) / 8000
    received = 0
    for at, chunk in upload.arrivals:
        received += len(chunk)
        assert received / 8000 <= (at - start) + slack
    # never early (the loop above); late only by what a loaded machine's scheduler adds, not by a second of silence
    assert seconds - 0.07 <= upload.arrivals[-1][0] - start <= seconds + 0.3


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
        with pytest.raises(SpeakerBusy, match="another client is talking"):
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


@pytest.mark.parametrize(
    ("refusal", "error", "kind", "sentence"),
    [
        ("in_progress", SpeakerBusy, DeviceBusy, "another client is talking through this camera's speaker"),
        ("busy", SpeakerBusy, DeviceBusy, "the camera is busy"),
        ("not_supported", NoBackchannel, DeviceNotSupported, "does not offer two-way audio"),
    ],
)
async def test_isapi_refusals_mean_what_the_device_says(refusal, error, kind, sentence):
    """403 with a ResponseStatus is not a login problem: busy and not supported each say so."""
    with FakeIsapi(refuse_open=refusal) as dev:
        with pytest.raises(error, match=sentence) as caught:
            await talk(parse_target(dev.url()), audio.iter_frames(TONE))
        assert isinstance(caught.value, kind) and not isinstance(caught.value, AuthRefused)
        assert dev.password not in str(caught.value)


async def test_isapi_wrong_password_is_the_login():
    with FakeIsapi() as dev, pytest.raises(TalkbackAuthError, match="refused shopwatch's login") as caught:
        await talk(parse_target(dev.url(password="wrong-pw")), audio.iter_frames(TONE))
    assert isinstance(caught.value, AuthRefused) and "wrong-pw" not in str(caught.value)


async def test_isapi_refused_close_of_nothing_open_does_not_stop_the_talk():
    with FakeIsapi(strict_close=True) as dev:
        result = await talk(parse_target(dev.url()), audio.iter_frames(TONE))
        upload = await asyncio.to_thread(dev.wait_upload_ended, 3.0)
        assert dev.refused_closes == 1  # the close before open: 403, statusCode 4
        assert result.packets == 50 and upload.data == g711.encode("PCMU", TONE)


async def test_isapi_expiring_nonce_is_answered_with_a_fresh_challenge():
    with FakeIsapi(nonce_uses=2) as dev:
        result = await talk(parse_target(dev.url()), audio.iter_frames(TONE))
        upload = await asyncio.to_thread(dev.wait_upload_ended, 3.0)
        assert dev.stale_answers >= 2  # control requests and the upload were each challenged again
        assert result.packets == 50 and upload.data == g711.encode("PCMU", TONE)


@pytest.mark.parametrize(("drain_s", "whole"), [(1.0, True), (0.0, False)])
async def test_the_drain_lets_a_buffering_speaker_play_the_last_frame(drain_s, whole):
    """A speaker that buffers 0.5 s and discards what it has not played at the close hears the clip's end
    only when the talk waits for it (the default drain); without, the last 0.5 s is lost."""
    with FakeIsapi(playback_buffer_s=0.5) as dev:
        target = replace(parse_target(dev.url()), drain_s=drain_s)
        await talk(target, audio.iter_frames(TONE))
        upload = await asyncio.to_thread(dev.wait_upload_ended, 3.0)
        assert upload.data == g711.encode("PCMU", TONE)
        if whole:
            assert upload.played == upload.data  # the last frame was played
        else:
            assert len(upload.played) < len(upload.data) - 8000 * 0.4


async def test_dahua_answering_200_at_once_keeps_reading():
    with FakeDahua(early_ok=True) as dev:
        result = await talk(parse_target(dev.url()), audio.iter_frames(TONE))
        upload = await asyncio.to_thread(dev.wait_upload_ended, 3.0)
        assert result.packets == 50 and upload.data == g711.encode("PCMA", TONE)
        assert dev.content_lengths == [STREAM_LENGTH] == [9_999_999]


async def test_a_device_without_the_dahua_cgi_is_not_supported():
    with FakeIsapi() as dev:  # answers 404 to /cgi-bin/...
        url = f"dahua://admin:{dev.password}@127.0.0.1:{dev.port}/?channel=1"
        with pytest.raises(NoBackchannel, match="does not take audio over HTTP") as caught:
            await talk(parse_target(url), audio.iter_frames(TONE))
        assert isinstance(caught.value, DeviceNotSupported) and dev.password not in str(caught.value)


@pytest.mark.parametrize("httptype", ["singlepart", "multipart"])
async def test_dahua_single_use_nonce_refusing_the_upload_is_signed_afresh_and_loses_nothing(httptype):
    # Each nonce is taken once: the device-type query uses it, so the upload signed with it is answered 401
    # stale=true (with a new nonce) while audio already flows; a second upload signed with the new nonce goes on.
    with FakeDahua(nonce_uses=1) as dev:
        result = await talk(parse_target(dev.url(httptype=httptype)), audio.iter_frames(TONE))
        uploads = await asyncio.to_thread(lambda: [dev.wait_upload_ended(3.0), dev.uploads][1])
        assert (result.packets, result.error) == (50, None)
        assert dev.calls == ["GET /cgi-bin/magicBox.cgi", "GET /cgi-bin/magicBox.cgi",
                             "POST /cgi-bin/audio.cgi", "POST /cgi-bin/audio.cgi"]  # fmt: skip
        assert dev.stale_answers == 1
        [upload] = uploads  # the refused request never reached the device's audio handler
        assert upload.data == g711.encode("PCMA", TONE)  # what went out before the refusal was sent again


async def test_dahua_single_use_nonce_still_tells_a_wrong_password():
    with FakeDahua(nonce_uses=1) as dev, pytest.raises(TalkbackAuthError, match="refused shopwatch's login"):
        await talk(parse_target(dev.url(password="nope-nope")), audio.iter_frames(TONE))
