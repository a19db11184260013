"""``LatestSlot``: the bounded hand-over from a camera reader to a slow consumer (detection).

The producer never blocks: when the slot is full the oldest pending value is overwritten and counted as dropped,
so a slow detector sees the newest frames and never stalls a camera (go2rtc's per-consumer queues do the same).
With the default capacity of 1 it is a plain latest-value slot; a reader uses a few places so that the burst of
pre-roll frames decoded at an activation reaches the consumer in order.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    def __init__(self, capacity: int = 1) -> None:
        if capacity < 1:
            raise ValueError(f"slot capacity must be at least 1, found {capacity}")
        self._capacity = capacity
        self._values: deque[T] = deque()
        self._cond = threading.Condition(threading.Lock())
        self._dropped = 0
        self._put = 0

    @property
    def capacity(self) -> int:
        return self._capacity

    @property
    def dropped(self) -> int:
        """Values overwritten before anyone took them."""
        with self._cond:
            return self._dropped

    @property
    def put_count(self) -> int:
        with self._cond:
            return self._put

    def __len__(self) -> int:
        with self._cond:
            return len(self._values)

    def put(self, value: T) -> None:
        """Store ``value``; never blocks. A full slot loses its oldest value (counted as dropped)."""
        with self._cond:
            if len(self._values) >= self._capacity:
                self._values.popleft()
                self._dropped += 1
            self._values.append(value)
            self._put += 1
            self._cond.notify()

    def get(self, timeout: float | None = None) -> T | None:
        """Take the oldest pending value, waiting up to ``timeout`` seconds (None: forever); None if none came."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._values:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._values.popleft()

    def get_nowait(self) -> T | None:
        with self._cond:
            return self._values.popleft() if self._values else None

    def drain(self) -> list[T]:
        """Take every pending value, oldest first (for consumers that batch)."""
        with self._cond:
            values = list(self._values)
            self._values.clear()
            return values

    def peek_latest(self) -> T | None:
        """The newest pending value without taking it."""
        with self._cond:
            return self._values[-1] if self._values else None
