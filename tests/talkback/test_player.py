import asyncio

import pytest

from shopwatch.talkback import audio, g711
from shopwatch.talkback.errors import TalkbackError
from shopwatch.talkback.pacing import ManualPacingClock
from shopwatch.talkback.player import talk
from shopwatch.talkback.target import parse_target
from tests.talkback.links import RecordingLink

TARGET = parse_target("rtsp://admin:secret@127.0.0.1:554/cam")


async def test_frames_are_paced_on_the_schedule_and_encoded_to_the_offered_codec():
    clock = ManualPacingClock(lateness=0.004)  # every wake-up 4 ms late: the schedule must not drift
    link = RecordingLink(clock, offers=("PCMA",))
    pcm = audio.tone(1000, 60.0)
    started: list[str] = []
    result = await talk(TARGET, audio.iter_frames(pcm), clock=clock, link=link, on_started=started.append)
    assert (result.codec, result.packets, result.bytes_sent, result.error) == ("PCMA", 3000, 480_000, None)
    assert started == ["PCMA"]
    first = link.sent[0][0]
    assert all(abs(at - first - i * 0.02) <= 0.0041 for i, (at, _) in enumerate(link.sent))
    assert result.played_s == pytest.approx(60.0, rel=0.01)
    assert b"".join(f.payload for _, f in link.sent) == g711.encode("PCMA", pcm)
    assert [f.timestamp for _, f in link.sent[:3]] == [0, 160, 320]
    assert [f.marker for _, f in link.sent[:2]] == [True, False]
    assert link.calls == ["open", "close"]


async def test_short_last_frame_is_padded_with_silence():
    clock = ManualPacingClock()
    link = RecordingLink(clock, offers=("PCMU", "PCMA"))
    result = await talk(TARGET, audio.iter_frames(bytes(330)), clock=clock, link=link)
    assert result.codec == "PCMU"
    assert [len(f.payload) for _, f in link.sent] == [160, 160]
    assert link.sent[1][1].payload == b"\xff" * 160


async def test_max_s_stops_the_talk():
    clock = ManualPacingClock()
    link = RecordingLink(clock)
    result = await talk(TARGET, audio.iter_frames(audio.tone(440, 5)), max_s=1.0, clock=clock, link=link)
    assert result.packets == 50
    assert result.played_s == pytest.approx(1.0)


async def test_a_source_that_pauses_starts_a_new_talkspurt_instead_of_bursting():
    clock = ManualPacingClock()
    link = RecordingLink(clock)

    async def live():
        for i in range(10):
            if i == 5:
                clock.advance(1.0)  # the operator's microphone stalled for a second
            yield bytes(320)

    await talk(TARGET, live(), clock=clock, link=link)
    times = [at for at, _ in link.sent]
    frames = [f for _, f in link.sent]
    assert [f.marker for f in frames] == [True] + [False] * 4 + [True] + [False] * 4
    assert frames[5].timestamp - frames[4].timestamp >= 160 + 8000 * 0.9  # the timestamp jumps over the gap
    assert times[6] - times[5] == pytest.approx(0.02)  # and pacing resumes from the late frame


async def test_failure_mid_talk_carries_what_was_played_and_closes():
    clock = ManualPacingClock()
    link = RecordingLink(clock, fail_after=10)
    with pytest.raises(TalkbackError) as caught:
        await talk(TARGET, audio.iter_frames(audio.tone(440, 1)), clock=clock, link=link)
    assert caught.value.result is not None
    assert (caught.value.result.packets, caught.value.result.error) == (10, "peer went away")
    assert link.calls == ["open", "close"]


async def test_failure_before_the_first_frame_has_no_result():
    clock = ManualPacingClock()
    link = RecordingLink(clock, offers=())
    with pytest.raises(TalkbackError) as caught:
        await talk(TARGET, audio.iter_frames(bytes(320)), clock=clock, link=link)
    assert caught.value.result is None
    assert link.calls == ["open", "close"]


async def test_cancellation_closes_the_link_and_propagates():
    clock = ManualPacingClock()
    link = RecordingLink(clock)
    gate = asyncio.Event()

    async def waits_forever():
        yield bytes(320)
        await gate.wait()
        yield bytes(320)

    task = asyncio.create_task(talk(TARGET, waits_forever(), clock=clock, link=link))
    while not link.sent:
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert link.calls == ["open", "close"]


async def test_bad_frames_and_max_s_are_refused():
    clock = ManualPacingClock()

    async def oversized():
        yield bytes(400)

    with pytest.raises(ValueError, match="at most 320 bytes"):
        await talk(TARGET, oversized(), clock=clock, link=RecordingLink(clock))
    with pytest.raises(ValueError, match="max_s"):
        await talk(TARGET, audio.iter_frames(b""), max_s=0, clock=clock, link=RecordingLink(clock))
