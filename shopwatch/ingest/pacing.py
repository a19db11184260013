"""Paced connection attempts: a worker's readers open their streams a few at a time, not all at once.

A worker starting 100 cameras used to open 100 RTSP sessions in the same instant, while the service's other
processes were starting too; on this 2-core machine 264 of 400 simulated cameras then got no answer within
FFmpeg's socket timeout, failed, and waited out their backoff (all online after 167 s). A camera (or an NVR
serving many of them) answers a steady trickle of opens easily. So every attempt of a worker's readers, first
opens and reconnects alike, goes through one ``OpenPacer``: at most ``rate`` opens per second (spacing jittered,
so workers started together drift apart) and at most ``in_flight`` opens awaiting an answer at once, which
slows the ramp down by itself when answers come slowly.

``PaceCore`` is the sans-IO rule (times in, decisions out); ``OpenPacer`` adds the lock and the waiting.
"""

from __future__ import annotations

import math
import random
import threading

from shopwatch.core.clock import Clock, SystemClock

# A waiting reader looks at its stop event at least this often.
_POLL_S = 0.5


class PaceCore:
    """Whether an open may start now; not thread-safe (``OpenPacer`` holds the lock)."""

    def __init__(self, rate: float, in_flight: int, jitter: float = 0.5, rng: random.Random | None = None) -> None:
        if rate <= 0 or in_flight < 1 or not 0 <= jitter < 1:
            raise ValueError(f"expected rate > 0, in_flight >= 1, 0 <= jitter < 1; found {rate}, {in_flight}, {jitter}")
        self._spacing_s = 1.0 / rate
        self._in_flight = in_flight
        self._jitter = jitter
        self._rng = rng if rng is not None else random.Random()
        self._next_at = -math.inf
        self.busy = 0  # opens started and not yet finished

    def try_start(self, now: float) -> float:
        """0.0 when an open may start now (and it is counted as started), else how long to wait at most
        (``inf``: until a running open finishes)."""
        if self.busy >= self._in_flight:
            return math.inf
        if now < self._next_at:
            return self._next_at - now
        self.busy += 1
        spacing = self._spacing_s * self._rng.uniform(1 - self._jitter, 1 + self._jitter)
        self._next_at = max(now, self._next_at) + spacing
        return 0.0

    def finish(self) -> None:
        if self.busy <= 0:
            raise RuntimeError("finish() without a started open")
        self.busy -= 1


class OpenPacer:
    """``PaceCore`` shared by a worker's reader threads: ``start`` blocks until the reader's turn."""

    def __init__(self, core: PaceCore, clock: Clock | None = None) -> None:
        self._core = core
        self._clock = clock if clock is not None else SystemClock()
        self._changed = threading.Condition()

    def start(self, stop: threading.Event) -> bool:
        """Wait for a turn to open; False when ``stop`` was set first (then nothing was started)."""
        with self._changed:
            while not stop.is_set():
                wait_s = self._core.try_start(self._clock.monotonic())
                if wait_s == 0.0:
                    return True
                self._changed.wait(min(wait_s, _POLL_S))
            return False

    def finish(self) -> None:
        """The open started by ``start`` got its answer (or failed): let the next one go."""
        with self._changed:
            self._core.finish()
            self._changed.notify_all()
