"""A token bucket per robot (pure; the caller passes the monotonic time).

``burst`` tokens to start with, refilled at ``(per_minute - burst) / 60`` a second, so no 60-second window ever
sees more than ``per_minute`` messages: at most ``burst`` from the start plus what refills in the window."""

from __future__ import annotations

from dataclasses import dataclass

_EPS = 1e-9  # float refill arithmetic: a token "due now" is here, not 0.9999999 of one


@dataclass(slots=True)
class TokenBucket:
    burst: int
    per_minute: int
    tokens: float
    at: float  # monotonic time of ``tokens``

    @classmethod
    def full(cls, burst: int, per_minute: int, now: float) -> TokenBucket:
        return cls(burst, per_minute, float(burst), now)

    @property
    def rate(self) -> float:
        """Tokens a second."""
        return max(self.per_minute - self.burst, 0) / 60.0

    def _refill(self, now: float) -> None:
        if now > self.at:
            self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
            self.at = now

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: now)."""
        self._refill(now)
        if self.tokens >= 1 - _EPS:
            return 0.0
        if self.rate == 0:
            return 60.0
        return (1 - self.tokens) / self.rate

    def take(self, now: float) -> bool:
        self._refill(now)
        if self.tokens < 1 - _EPS:
            return False
        self.tokens = max(0.0, self.tokens - 1)
        return True

    def drain(self, now: float) -> None:
        """The robot said its minute is used up (another sender shares it): start over from empty."""
        self._refill(now)
        self.tokens = 0.0
