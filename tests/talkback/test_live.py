"""Live push-to-talk input: client chunks of any size and format become 20 ms 8 kHz frames; the buffer is
bounded and drops the oldest audio (latency over completeness)."""

from __future__ import annotations

import numpy as np
import pytest

from shopwatch.talkback import audio, g711
from shopwatch.talkback.live import LiveAudio, LiveInput
from tests.talkback.spectrum import peak_hz


async def drain(live: LiveAudio) -> list[bytes]:
    return [frame async for frame in live]


def tone(rate: int, seconds: float, hz: float = 1000) -> bytes:
    t = np.arange(int(rate * seconds)) / rate
    return (np.sin(2 * np.pi * hz * t) * 0.5 * 32767).astype("<i2").tobytes()


async def test_pcm16_at_48khz_in_odd_chunks_becomes_8khz_frames() -> None:
    live = LiveAudio(LiveInput("pcm16", 48_000), buffer_ms=2000)
    pcm = tone(48_000, 1.0)
    for i in range(0, len(pcm), 1234):  # chunk edges inside samples' pairs are fine, whole samples only
        live.push(pcm[i : i + 1234])
    live.end()
    frames = await drain(live)
    assert all(len(f) == audio.FRAME_BYTES for f in frames[:-1])
    assert audio.duration_s(b"".join(frames)) == pytest.approx(1.0, abs=0.02)
    assert peak_hz(b"".join(frames)) == pytest.approx(1000, abs=10)
    assert live.frames_dropped == 0


async def test_g711_is_decoded() -> None:
    pcm = tone(8000, 0.2)
    live = LiveAudio(LiveInput("pcma"), buffer_ms=1000)
    live.push(g711.encode("PCMA", pcm))
    live.end()
    received = b"".join(await drain(live))
    assert received == g711.decode("PCMA", g711.encode("PCMA", pcm))


async def test_a_client_running_ahead_loses_the_oldest_audio_not_latency() -> None:
    live = LiveAudio(LiveInput(), buffer_ms=100)  # 5 frames
    frames = [bytes([i]) * audio.FRAME_BYTES for i in range(8)]
    for frame in frames:
        live.push(frame)
    live.end()
    assert await drain(live) == frames[3:]
    assert (live.frames_in, live.frames_dropped) == (8, 3)


async def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="whole 16-bit samples"):
        LiveAudio(LiveInput(), 200).push(b"\x00\x01\x02")
    with pytest.raises(ValueError, match="expected rate 8000 for pcmu"):
        LiveInput("pcmu", 16_000)
    with pytest.raises(ValueError, match="8000-48000"):
        LiveInput("pcm16", 96_000)
