"""Live push-to-talk audio: what a browser or client sends over the WebSocket, as an ``AudioSource``.

Clients send binary messages of PCM16 (little-endian, mono) at a rate they declare, or G.711 (PCMU/PCMA) at
8 kHz, in chunks of any size. They are converted to 8 kHz PCM16 (a stateful resampler, so chunk edges carry no
clicks) and cut into 20 ms frames. The buffer between the socket and the sender is small and bounded: a
speaker should say what the operator says now, so when the client runs ahead the oldest audio is dropped and
counted rather than heard late."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal

from shopwatch.talkback import g711
from shopwatch.talkback.audio import FRAME_BYTES, FRAME_MS, SAMPLE_RATE, PcmResampler

LiveFormat = Literal["pcm16", "pcmu", "pcma"]
MIN_RATE = 8000
MAX_RATE = 48000


@dataclass(frozen=True, slots=True)
class LiveInput:
    """How the client's audio is encoded."""

    format: LiveFormat = "pcm16"
    rate: int = SAMPLE_RATE  # PCM16 only; G.711 is 8 kHz

    def __post_init__(self) -> None:
        if self.format != "pcm16" and self.rate != SAMPLE_RATE:
            raise ValueError(f"expected rate {SAMPLE_RATE} for {self.format}, found {self.rate}")
        if not MIN_RATE <= self.rate <= MAX_RATE:
            raise ValueError(f"expected a sample rate of {MIN_RATE}-{MAX_RATE} Hz, found {self.rate}")


class LiveAudio:
    """Bounded frame buffer fed by ``push`` and drained by iterating (``talk`` does)."""

    def __init__(self, spec: LiveInput, buffer_ms: int) -> None:
        self.spec = spec
        self.max_frames = max(2, buffer_ms // FRAME_MS)
        self._frames: deque[bytes] = deque()
        self._pending = b""  # converted samples not yet a whole frame
        self._resampler = PcmResampler() if spec.format == "pcm16" and spec.rate != SAMPLE_RATE else None
        self._ready = asyncio.Event()
        self._ended = False
        self.frames_in = 0
        self.frames_dropped = 0

    def push(self, data: bytes) -> None:
        """Add one client message; ``ValueError`` for bytes that are not whole samples."""
        if self._ended:
            return
        self._add(self._convert(data))

    def end(self) -> None:
        """The client is done: what is buffered still plays, then the source ends."""
        if self._ended:
            return
        tail = self._resampler.flush() if self._resampler is not None else b""
        self._add(tail)
        if self._pending:
            self._enqueue(self._pending)  # the sender pads the short last frame
            self._pending = b""
        self._ended = True
        self._ready.set()

    def _convert(self, data: bytes) -> bytes:
        if self.spec.format == "pcmu":
            return g711.decode("PCMU", data)
        if self.spec.format == "pcma":
            return g711.decode("PCMA", data)
        if len(data) % 2:
            raise ValueError(f"expected whole 16-bit samples, found a message of {len(data)} bytes")
        return self._resampler.feed(data, self.spec.rate) if self._resampler is not None else data

    def _add(self, pcm: bytes) -> None:
        buffered = self._pending + pcm
        whole = len(buffered) - len(buffered) % FRAME_BYTES
        for i in range(0, whole, FRAME_BYTES):
            self._enqueue(buffered[i : i + FRAME_BYTES])
        self._pending = buffered[whole:]

    def _enqueue(self, frame: bytes) -> None:
        self.frames_in += 1
        if len(self._frames) >= self.max_frames:
            self._frames.popleft()
            self.frames_dropped += 1
        self._frames.append(frame)
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            if self._frames:
                yield self._frames.popleft()
                continue
            if self._ended:
                return
            self._ready.clear()
            await self._ready.wait()
