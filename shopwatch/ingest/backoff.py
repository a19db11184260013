"""Reconnect delays: exponential backoff with jitter and a hard cap, plus a slow delay after 401/403.

Jitter spreads the reconnects of many cameras that failed together (a shop's router rebooting takes all of its
cameras down at once). The cap is a hard maximum: near the cap the jitter is applied below it, never above, so
``next_delay()`` always lies in ``[base * (1 - jitter), min(base * (1 + jitter), max_s)]`` where
``base = min(initial_s * factor ** failures, max_s)``.
"""

from __future__ import annotations

import random

from shopwatch.core.config import Backoff


class ReconnectBackoff:
    """Delays between connection attempts of one camera. Not thread-safe: owned by its reader thread."""

    def __init__(self, settings: Backoff, rng: random.Random | None = None) -> None:
        self._settings = settings
        self._rng = rng if rng is not None else random.Random()
        self._failures = 0

    @property
    def failures(self) -> int:
        """Consecutive failures since the last ``reset()``."""
        return self._failures

    def next_delay(self) -> float:
        """Delay before the next attempt after an ordinary failure (refused, timed out, dropped)."""
        s = self._settings
        # Cap the exponent too: factor ** failures would overflow a float after ~1,000 failures.
        base = s.initial_s * s.factor ** min(self._failures, 64) if s.factor > 1 else s.initial_s
        base = min(base, s.max_s)
        self._failures += 1
        low = base * (1.0 - s.jitter)
        high = min(base * (1.0 + s.jitter), s.max_s)
        return self._rng.uniform(low, high)

    def auth_delay(self) -> float:
        """Delay after 401/403: slow, so a wrong password does not hammer the camera (or lock the account).

        Jittered ± ``jitter`` around ``auth_retry_s``; not capped by ``max_s``, which is about outages."""
        s = self._settings
        self._failures += 1
        return self._rng.uniform(s.auth_retry_s * (1.0 - s.jitter), s.auth_retry_s * (1.0 + s.jitter))

    def reset(self) -> None:
        """Forget past failures (the connection proved healthy, or the configuration changed)."""
        self._failures = 0
