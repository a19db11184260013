"""The latest decoded picture of a camera, and on-demand requests for a fresh one.

The reader thread publishes every picture it decodes (a reference swap, no conversion). A snapshot caller
(another thread) takes the latest one if it is fresh; otherwise it raises ``wanted``, which makes the reader
decode the next keyframe even when none is due, and waits for it, bounded.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from shopwatch.ingest.jpeg import DEFAULT_QUALITY, encode_jpeg


@dataclass(frozen=True, slots=True)
class Picture:
    frame: Any  # av.VideoFrame; the reader never touches it again once published
    rgb: npt.NDArray[np.uint8] | None  # the RGB conversion, when the reader already made one
    time: float  # monotonic time it was decoded
    generation: int


class SnapshotStore:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._latest: Picture | None = None
        self._generation = 0
        self._encode_lock = threading.Lock()
        # Read without the lock on the reader's hot path: a stale read only delays a decode by one keyframe.
        self.wanted = False

    def publish(self, frame: Any, now: float, rgb: npt.NDArray[np.uint8] | None = None) -> None:
        with self._cond:
            self._generation += 1
            self._latest = Picture(frame, rgb, now, self._generation)
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

    def encode(self, picture: Picture, quality: int = DEFAULT_QUALITY) -> bytes:
        # A VideoFrame caches one swscale context: two threads converting the same frame at once would share it.
        with self._encode_lock:
            return encode_jpeg(picture.rgb if picture.rgb is not None else picture.frame, quality)
