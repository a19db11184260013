"""Real-time pacing of 20 ms frames on a monotonic clock, scheduled against the start time (no drift).

Frame ``i`` is due at ``start + i * 20 ms``; sleeping "20 ms after the last send" would add every wake-up's
lateness and drift. A source that falls behind (a live microphone that paused) is not caught up in a burst:
past ``MAX_LATE_S`` the schedule is re-anchored, and the frame's RTP timestamp jumps over the gap.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from shopwatch.talkback.audio import FRAME_MS, SAMPLES_PER_FRAME

FRAME_S = FRAME_MS / 1000
MAX_LATE_S = 0.1  # later than this, the source paused: start a new talkspurt instead of bursting


class PacingClock(Protocol):
    def monotonic(self) -> float: ...

    async def sleep_until(self, deadline: float) -> None:
        """Return at (or just after) monotonic time ``deadline``; at once when it has passed."""
        ...


class LoopClock:
    """The event loop's monotonic clock (``time.monotonic``) and its timers."""

    def monotonic(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - self.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class Pacer:
    """Hands out each frame's due time and RTP timestamp (in samples since the first frame)."""

    def __init__(self, clock: PacingClock) -> None:
        self.clock = clock
        self.started_at: float | None = None
        self._anchor = 0.0
        self._slot = 0  # slots since the anchor
        self._timestamp = 0
        self.gaps = 0  # re-anchors (the source fell behind by more than MAX_LATE_S)

    async def wait(self) -> tuple[int, bool]:
        """Wait for the next frame's slot; returns (timestamp, marker)."""
        now = self.clock.monotonic()
        if self.started_at is None:
            self.started_at = self._anchor = now
            return self._advance(0, marker=True)
        due = self._anchor + self._slot * FRAME_S
        if now - due > MAX_LATE_S:
            skipped = int((now - due) / FRAME_S)
            self.gaps += 1
            self._anchor, self._slot = now, 0
            return self._advance(skipped * SAMPLES_PER_FRAME, marker=True)
        await self.clock.sleep_until(due)
        return self._advance(0, marker=False)

    def _advance(self, skipped_samples: int, *, marker: bool) -> tuple[int, bool]:
        self._timestamp += skipped_samples
        timestamp = self._timestamp
        self._timestamp += SAMPLES_PER_FRAME
        self._slot += 1
        return timestamp, marker

    @property
    def audio_end(self) -> float:
        """When the audio of the frames handed out so far has finished playing (schedule time)."""
        return self._anchor + self._slot * FRAME_S


class ManualPacingClock:
    """A pacing clock for tests: sleeping moves time to the deadline at once (plus ``lateness`` per sleep,
    to model a loaded machine), and ``advance`` moves it from outside (a source that paused)."""

    def __init__(self, start: float = 1_000.0, *, lateness: float = 0.0) -> None:
        self._now = start
        self.lateness = lateness
        self.sleeps = 0

    def monotonic(self) -> float:
        return self._now

    async def sleep_until(self, deadline: float) -> None:
        self.sleeps += 1
        self._now = max(self._now, deadline + self.lateness)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self._now += seconds
