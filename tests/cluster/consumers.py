"""A frame consumer for the cluster tests (importable by Ray's worker processes): for each camera whose id starts
with ``scene-``, one card-posting "visit" per ``PERIOD_S`` of wall time, beginning at the period's start, on the
first frame of each period. Two shards reading the same camera report the same visits (same start), as two
real readers of one camera would; a period without frames (the camera was away) reports nothing."""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping

from shopwatch.core.consumer import CameraFeed
from shopwatch.core.events import Event, EventSink, EventType
from shopwatch.core.health import DetectionStatus

PERIOD_S = 4.0  # more than store.event_once's duplicate window: every period is a visit of its own


def visit_of(wall_time: float) -> int:
    return math.floor(wall_time / PERIOD_S)


class PeriodicVisits:
    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}
        self._feeds: dict[str, CameraFeed] = {}

    def set_feeds(self, feeds: Mapping[str, CameraFeed]) -> None:
        self._feeds = dict(feeds)
        for camera_id in feeds:
            if camera_id.startswith("scene-") and camera_id not in self._threads:
                thread = threading.Thread(target=self._watch, args=(camera_id,), daemon=True)
                self._threads[camera_id] = thread
                thread.start()

    def _watch(self, camera_id: str) -> None:
        last = None
        while not self._stop.is_set() and camera_id in self._feeds:
            frame = self._feeds[camera_id].frames.get(timeout=0.2)
            if frame is None:
                continue
            visit = visit_of(frame.wall_time)
            if visit == last:
                continue
            last = visit
            start = visit * PERIOD_S
            event = Event(camera_id, EventType.CARD_POSTING, start, start + 1.0, 0.9, visit, (0, 0, 1, 1), "shutter",
                          frame.wall_time)  # fmt: skip
            self._sink.submit(event)

    def health(self) -> Mapping[str, DetectionStatus]:
        return {camera_id: DetectionStatus("motion") for camera_id in self._feeds}

    def close(self) -> None:
        self._stop.set()
