"""A shard's watchdog: Ray notices a shard only when its process exits, so a shard whose critical thread died
or hangs is turned into an exit here (``os._exit``), and Ray restarts it.

``Watchdog.verdict`` is pure (threads' liveness and the heartbeat in, a reason out); ``run_watchdog`` is the
thread that asks it every second and exits the process on a reason."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from shopwatch.core.clock import Clock

log = logging.getLogger(__name__)

EXIT_CODE = 70  # EX_SOFTWARE


@dataclass
class Watchdog:
    hung_after_s: float
    clock: Clock
    _last_beat: int = -1
    _beat_moved_at: float | None = None

    def verdict(self, threads: Mapping[str, bool], beats: int) -> str | None:
        """Why the shard must exit (a critical thread dead, or the heartbeat still for ``hung_after_s``), or
        None. ``threads``: name -> alive."""
        dead = sorted(name for name, alive in threads.items() if not alive)
        if dead:
            return f"critical thread{'s' if len(dead) > 1 else ''} {', '.join(dead)} died"
        now = self.clock.monotonic()
        if beats != self._last_beat or self._beat_moved_at is None:
            self._last_beat, self._beat_moved_at = beats, now
            return None
        if now - self._beat_moved_at >= self.hung_after_s:
            return f"the shard's main loop has not moved for {now - self._beat_moved_at:.1f} s"
        return None


def run_watchdog(
    watchdog: Watchdog,
    probe: Callable[[], tuple[Mapping[str, bool], int]],
    stop: threading.Event,
    exit_process: Callable[[int], None] = os._exit,
) -> None:
    """Every second until ``stop``: ``probe()`` gives the threads' liveness and the heartbeat; a verdict exits."""
    while not stop.wait(1.0):
        threads, beats = probe()
        reason = watchdog.verdict(threads, beats)
        if reason is not None:
            log.critical("watchdog: %s; exiting so that Ray restarts this shard", reason)
            exit_process(EXIT_CODE)
            return
