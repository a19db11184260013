"""The one audio model of talkback: 8 kHz mono signed 16-bit little-endian PCM, in 20 ms frames.

Every source (clip file, TTS, tone, live microphone) becomes this before it is encoded to the device's codec
(G.711 at 8 kHz is what camera speakers take, TALKBACK_PROTOCOLS.md "Codec"). An ``AudioSource`` yields
frames as fast as it has them; pacing to real time is the sender's job (``session.talk``), so a clip is never
slowed twice and a live source is never buffered here.

PyAV decoding is blocking: call ``pcm_from_file`` from a thread (``asyncio.to_thread``) in async code.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import av
import numpy as np

from shopwatch.talkback.errors import AudioDecodeError

SAMPLE_RATE = 8000
FRAME_MS = 20
SAMPLES_PER_FRAME = SAMPLE_RATE * FRAME_MS // 1000  # 160
FRAME_BYTES = SAMPLES_PER_FRAME * 2  # 320
MAX_FILE_SECONDS = 600.0  # a clip longer than this is a mistake, not a warning to a shop

AudioSource = AsyncIterable[bytes]
"""Each item one 320-byte frame of 8 kHz mono PCM16 (the last may be shorter; the sender pads it)."""


def pcm_from_file(path: str | Path, *, max_seconds: float = MAX_FILE_SECONDS) -> bytes:
    """Decode any audio file FFmpeg knows (WAV, MP3, AAC/M4A, OGG/Opus, FLAC...) to 8 kHz mono PCM16.

    Raises ``AudioDecodeError`` naming the file and what was wrong: not found, no audio stream, damaged, or
    longer than ``max_seconds``.
    """
    name = Path(path).name
    try:
        container = av.open(str(path))
    except FileNotFoundError:
        raise AudioDecodeError(f"audio file {name!r} not found") from None
    except av.error.FFmpegError as exc:
        raise AudioDecodeError(f"{name!r} is not an audio file FFmpeg can open: {exc.strerror or exc}") from None
    with container:
        if not container.streams.audio:
            kinds = ", ".join(sorted({s.type for s in container.streams})) or "nothing"
            raise AudioDecodeError(f"expected an audio stream in {name!r}, found {kinds}")
        resampler = PcmResampler()
        chunks: list[bytes] = []
        total = 0
        try:
            for frame in container.decode(container.streams.audio[0]):
                chunk = resampler.feed_frame(frame)
                total += len(chunk)
                if total > max_seconds * SAMPLE_RATE * 2:
                    raise AudioDecodeError(f"{name!r} is longer than the {max_seconds:.0f} s allowed")
                chunks.append(chunk)
        except av.error.FFmpegError as exc:
            raise AudioDecodeError(f"{name!r} is damaged: {exc.strerror or exc}") from None
        chunks.append(resampler.flush())
    pcm = b"".join(chunks)
    if not pcm:
        raise AudioDecodeError(f"expected audio samples in {name!r}, found none")
    return pcm


class PcmResampler:
    """Resample a stream of audio (PyAV frames or PCM16 chunks at one rate) to 8 kHz mono PCM16.

    Stateful, so chunk edges of a live stream carry no clicks; ``flush`` returns the filter's tail.
    """

    def __init__(self) -> None:
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)

    def feed_frame(self, frame: av.AudioFrame) -> bytes:
        return b"".join(bytes(out.planes[0])[: out.samples * 2] for out in self._resampler.resample(frame))

    def feed(self, pcm: bytes, rate: int, channels: int = 1) -> bytes:
        """Signed 16-bit little-endian interleaved samples at ``rate`` Hz -> 8 kHz mono PCM16."""
        if len(pcm) % (2 * channels):
            raise ValueError(f"expected whole {channels}-channel 16-bit samples, found {len(pcm)} bytes")
        if not pcm:
            return b""
        samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono" if channels == 1 else "stereo")
        frame.sample_rate = rate
        return self.feed_frame(frame)

    def flush(self) -> bytes:
        return b"".join(bytes(out.planes[0])[: out.samples * 2] for out in self._resampler.resample(None))


def resample_pcm16(data: bytes, rate: int, channels: int = 1) -> bytes:
    """A whole PCM16 buffer at ``rate`` Hz (interleaved ``channels``) -> 8 kHz mono PCM16."""
    if rate == SAMPLE_RATE and channels == 1:
        return data
    resampler = PcmResampler()
    return resampler.feed(data, rate, channels) + resampler.flush()


def tone(hz: float, seconds: float, *, amplitude: float = 0.5) -> bytes:
    """A sine tone (test signal and audible beep), ``amplitude`` a fraction of full scale."""
    if not 0 < hz < SAMPLE_RATE / 2:
        raise ValueError(f"expected a frequency between 0 and {SAMPLE_RATE // 2} Hz, found {hz}")
    if not 0 < seconds <= MAX_FILE_SECONDS:
        raise ValueError(f"expected a duration in (0, {MAX_FILE_SECONDS:.0f}] s, found {seconds}")
    t = np.arange(round(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (np.sin(2 * np.pi * hz * t) * amplitude * 32767).astype("<i2").tobytes()


def frames(pcm: bytes) -> list[bytes]:
    """Split PCM into 320-byte (20 ms) frames; the last one may be shorter."""
    return [pcm[i : i + FRAME_BYTES] for i in range(0, len(pcm), FRAME_BYTES)]


async def iter_frames(pcm: bytes) -> AsyncIterator[bytes]:
    """An ``AudioSource`` over a buffer, with no pacing (``talk`` paces)."""
    for frame in frames(pcm):
        yield frame


def duration_s(pcm: bytes) -> float:
    """Seconds of 8 kHz mono PCM16."""
    return len(pcm) / (2 * SAMPLE_RATE)
