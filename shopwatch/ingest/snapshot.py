"""The latest decoded picture of a camera, and on-demand requests for a fresh one.

The reader thread publishes every picture it decodes (a reference swap, no conversion). A snapshot caller
(another thread) takes the latest one if it is fresh; otherwise it raises ``wanted``, which makes the reader
decode the next keyframe even when none is due, and waits for it, bounded. The caller converts and encodes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from shopwatch.core.jpeg import DEFAULT_QUALITY, encode_jpeg


@dataclass(frozen=True, slots=True)
class Picture:
    frame: Any  # a core.frame.RgbSource (a decoded picture or a handed-on Frame); never changed once published
    time: float  # monotonic time it was decoded
    generation: int


class SnapshotStore:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._latest: Picture | None = None
        self._generation = 0
        # Read without the lock on the reader's hot path: a stale read only delays a decode by one keyframe.
        self.wanted = False

    def publish(self, frame: Any, now: float) -> None:
        with self._cond:
            self._generation += 1
            self._latest = Picture(frame, now, self._generation)
            self.wanted = False
            self._cond.notify_all()

    def latest(self) -> Picture | None:
        with self._cond:
            return self._latest

    def request(self) -> int:
        """Ask the reader for a fresh picture; returns the generation to wait beyond."""
        with self._cond:
            self.wanted = True
            return self._generation

    def wait_newer(self, generation: int, timeout_s: float) -> Picture | None:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._latest is None or self._latest.generation <= generation:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._latest

    @staticmethod
    def encode(picture: Picture, quality: int = DEFAULT_QUALITY) -> bytes:
        """JPEG of a published picture, converted in the calling thread (a handed-on ``Frame`` that a consumer
        already converted is not converted again)."""
        return encode_jpeg(picture.frame, quality)
