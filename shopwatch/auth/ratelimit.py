"""Sliding-window counters with bounded memory, for login attempts. No I/O: time comes from an injected clock.

Each key (a user name, a client address) keeps the times of its counted hits inside the window, at most
``limit`` of them. At most ``tracked`` keys are remembered; when a new one arrives the key touched longest ago is
forgotten, so a flood of distinct addresses costs a fixed amount of memory."""

from __future__ import annotations

from collections import OrderedDict, deque

from shopwatch.core.clock import Clock


class SlidingWindow:
    def __init__(self, limit: int, window_s: float, tracked: int, clock: Clock) -> None:
        if limit < 1 or window_s <= 0 or tracked < 1:
            raise ValueError(f"expected limit >= 1, window_s > 0, tracked >= 1; found {limit}, {window_s}, {tracked}")
        self._limit = limit
        self._window_s = window_s
        self._tracked = tracked
        self._clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, key: str) -> float | None:
        """Seconds until ``key`` may try again, or None when it is under the limit now."""
        hits = self._current(key)
        if hits is None or len(hits) < self._limit:
            return None
        return max(0.0, hits[0] + self._window_s - self._clock.monotonic())

    def hit(self, key: str) -> None:
        """Count one hit for ``key`` (only the newest ``limit`` are kept: enough to decide)."""
        hits = self._current(key)
        if hits is None:
            hits = deque(maxlen=self._limit)
            self._hits[key] = hits
            while len(self._hits) > self._tracked:
                self._hits.popitem(last=False)
        self._hits.move_to_end(key)
        hits.append(self._clock.monotonic())

    def reset(self, key: str) -> None:
        self._hits.pop(key, None)

    def __len__(self) -> int:
        return len(self._hits)

    def _current(self, key: str) -> deque[float] | None:
        hits = self._hits.get(key)
        if hits is None:
            return None
        oldest_kept = self._clock.monotonic() - self._window_s
        while hits and hits[0] <= oldest_kept:
            hits.popleft()
        if not hits:
            del self._hits[key]
            return None
        return hits
