"""The RTSP backchannel client against GStreamer's ONVIF server (``shopwatch.sim.backchannel``) on loopback."""

import asyncio
import socket
import time
from dataclasses import replace

import pytest

from shopwatch.sim.backchannel import BackchannelServer
from shopwatch.talkback import audio
from shopwatch.talkback.errors import NoBackchannel, TalkbackUnreachable
from shopwatch.talkback.player import talk
from shopwatch.talkback.speakers.link import EncodedFrame
from shopwatch.talkback.speakers.rtsp.backchannel import RtspBackchannel
from shopwatch.talkback.target import parse_target
from shopwatch.talkback.tts import synthesize
from tests.talkback.spectrum import peak_hz, voiced_span_s
from tests.talkback.test_tts import needs_espeak

pytestmark = pytest.mark.rtsp


@pytest.fixture
def peer():
    with BackchannelServer() as server:
        yield server


@pytest.mark.parametrize("transport", ["tcp", "udp"])
@pytest.mark.parametrize(("mount", "codec"), [("pcmu", "PCMU"), ("pcma", "PCMA")])
async def test_a_tone_arrives_whole_and_at_its_pitch(peer, transport, mount, codec):
    result = await talk(parse_target(peer.url(mount), transport), audio.iter_frames(audio.tone(1000, 2.0)))
    assert (result.codec, result.packets, result.error) == (codec, 100, None)
    assert result.played_s == pytest.approx(2.0, rel=0.01)
    received = await asyncio.to_thread(peer.wait_for_audio, mount, 1.96, 3.0)
    assert received.seconds == pytest.approx(2.0, rel=0.02)
    assert peak_hz(received.pcm) == pytest.approx(1000, abs=5)
    assert peer.requests()[-1] == "TEARDOWN"


@pytest.mark.slow
async def test_twenty_backchannel_only_talks_in_a_row_all_arrive_with_their_own_tone(peer):
    # The default SETUP (the backchannel alone) against the reference peer, which once played nothing in 1 to 3
    # sessions of 20 (its unused video track failed the media: see shopwatch.sim.backchannel). A distinct pitch
    # per talk, so one talk's audio cannot stand in for another's. Bounded: 20 talks of 0.4 s.
    for i in range(20):
        hz = 500 + 50 * i
        target = replace(parse_target(peer.url("pcmu")), drain_s=0.2)
        result = await talk(target, audio.iter_frames(audio.tone(hz, 0.4)))
        assert (result.packets, result.error) == (20, None)
        received = await asyncio.to_thread(_nth_reception, peer, i, 0.36)
        assert received.seconds == pytest.approx(0.4, abs=0.02), f"talk {i}"
        assert peak_hz(received.pcm) == pytest.approx(hz, abs=10), f"talk {i}"
    assert peer.requests().count("SETUP") == 20  # one per talk: no video stream was set up


async def test_every_track_is_set_up_where_the_camera_is_configured_so(peer):
    target = replace(parse_target(peer.url("pcma")), backchannel_only=False)
    await talk(target, audio.iter_frames(audio.tone(1000, 1.0)))
    received = await asyncio.to_thread(peer.wait_for_audio, "pcma", 0.96, 3.0)
    assert peak_hz(received.pcm) == pytest.approx(1000, abs=5)
    assert peer.requests().count("SETUP") == 2  # video, then the backchannel


def _nth_reception(peer, index, seconds, timeout_s=3.0):
    """The ``index``-th session's reception once it holds ``seconds`` of audio (each talk is its own media)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = peer.receptions("pcmu")
        if len(found) > index and found[index].seconds >= seconds:
            return found[index]
        time.sleep(0.02)
    raise AssertionError(f"talk {index}: {[round(r.seconds, 3) for r in peer.receptions('pcmu')]} s received")


@needs_espeak
async def test_a_spoken_sentence_arrives_with_its_speech(peer):
    pcm = await synthesize("You are being recorded. Please stop posting cards.", "en")
    sent_start, sent_end = voiced_span_s(pcm)
    await talk(parse_target(peer.url("pcmu")), audio.iter_frames(pcm))
    received = await asyncio.to_thread(peer.wait_for_audio, "pcmu", audio.duration_s(pcm) - 0.04, 3.0)
    start, end = voiced_span_s(received.pcm)
    assert end - start == pytest.approx(sent_end - sent_start, abs=0.1)


@pytest.mark.slow
async def test_keepalive_holds_a_session_longer_than_the_server_timeout():
    # Over UDP, GStreamer expires a session idle for its timeout + 5 s: without keepalive only ~7 s of these 9
    # arrive (checked by hand) and the talk still "succeeds"; with GET_PARAMETER every 1 s all of it does.
    with BackchannelServer(session_timeout_s=2) as peer:
        result = await talk(parse_target(peer.url("pcmu"), "udp"), audio.iter_frames(audio.tone(1000, 9.0)))
        received = await asyncio.to_thread(peer.wait_for_audio, "pcmu", 8.96, 3.0)
        assert result.packets == 450 and received.seconds == pytest.approx(9.0, rel=0.01)
        assert peer.requests().count("GET_PARAMETER") >= 7


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_server_killed_mid_talk_is_a_clean_error(peer, transport):
    target = parse_target(peer.url("pcmu"), transport)
    task = asyncio.create_task(talk(target, audio.iter_frames(audio.tone(440, 10.0))))
    await asyncio.to_thread(peer.wait_for_audio, "pcmu", 0.5, 5.0)
    peer.kill()
    with pytest.raises(TalkbackUnreachable, match="closed the RTSP connection|broke") as caught:
        await asyncio.wait_for(task, 5.0)
    assert caught.value.result is not None and 0 < caught.value.result.packets < 500


async def test_mount_without_backchannel_is_a_clear_error_without_the_password(peer):
    url = peer.url("nobc", "admin", "hunter22")
    with pytest.raises(NoBackchannel, match="551") as caught:
        await talk(parse_target(url), audio.iter_frames(audio.tone(440, 1.0)))
    assert "hunter22" not in str(caught.value)


async def test_cancelling_a_talk_tears_the_session_down(peer):
    task = asyncio.create_task(talk(parse_target(peer.url("pcma")), audio.iter_frames(audio.tone(440, 10.0))))
    await asyncio.to_thread(peer.wait_for_audio, "pcma", 0.3, 5.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if "TEARDOWN" in peer.requests():
            break
        await asyncio.sleep(0.02)
    assert peer.requests()[-1] == "TEARDOWN"


async def test_nothing_listening_is_unreachable():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(TalkbackUnreachable, match="cannot connect"):
            await talk(parse_target(f"rtsp://127.0.0.1:{port}/x"), audio.iter_frames(bytes(320)))


async def test_a_cancel_while_a_frame_is_written_is_never_lost(peer):
    # Python 3.11's asyncio.wait_for returns the result when its inner task ends in the loop turn that delivers
    # the cancel, dropping the cancel: a stopped (preempted, shut down) clip then played to its end.
    link = RtspBackchannel(parse_target(peer.url("pcmu")))
    await link.open(("PCMU",))
    lost = 0
    try:
        for i in range(50):
            task = asyncio.create_task(link.send(EncodedFrame(bytes(160), i * 160, i == 0)))
            await asyncio.sleep(0)  # the send is under way
            if task.cancel():
                try:
                    await task
                    lost += 1
                except asyncio.CancelledError:
                    pass
    finally:
        await link.close()
    assert lost == 0
