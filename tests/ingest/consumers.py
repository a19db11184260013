"""A frame consumer for the worker tests: it must live in an importable module (workers are spawned)."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from shopwatch.core.consumer import CameraFeed
from shopwatch.core.events import Event, EventSink, EventType
from shopwatch.core.health import DetectionStatus


class FirstFrameEvents:
    """For each camera: submits one event for the first frame it is handed (zone "keyframe" when that frame is a
    keyframe), starting and ending at the frame's wall time. The worker adds the clip after its post-roll."""

    def __init__(self, sink: EventSink) -> None:
        self._sink = sink
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}

    def set_feeds(self, feeds: Mapping[str, CameraFeed]) -> None:
        for camera_id, feed in feeds.items():
            if camera_id not in self._threads:
                thread = threading.Thread(target=self._watch, args=(feed,), daemon=True)
                self._threads[camera_id] = thread
                thread.start()

    def _watch(self, feed: CameraFeed) -> None:
        frame = None
        while frame is None and not self._stop.is_set():
            frame = feed.frames.get(timeout=0.1)
        if frame is None:
            return
        zone = "keyframe" if frame.keyframe else "delta"
        t = frame.wall_time
        self._sink.submit(Event(feed.camera.id, EventType.INTRUSION, t, t, 0.9, 1, (0, 0, 1, 1), zone, t))

    def health(self) -> Mapping[str, DetectionStatus]:
        return {camera_id: DetectionStatus("motion") for camera_id in self._threads}

    def close(self) -> None:
        self._stop.set()
