"""A frame consumer for the worker tests: it must live in an importable module (workers are spawned)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

from shopwatch.core.health import DetectionStatus
from shopwatch.ingest.clip import ClipError
from shopwatch.ingest.consumer import CameraFeed, Publish


class FirstFrameClips:
    """For each camera: publishes the first frame it is handed, then a clip cut from the ring around it."""

    def __init__(self, clips_dir: Path, publish: Publish) -> None:
        self._clips_dir = clips_dir
        self._publish = publish
        self._stop = threading.Event()
        self._threads: dict[str, threading.Thread] = {}

    def set_feeds(self, feeds: Mapping[str, CameraFeed]) -> None:
        self._publish(("feeds", tuple(sorted(feeds))))
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
        self._publish(("frame", feed.camera.id, frame.keyframe, frame.wall_time))
        self._stop.wait(1.0)  # let the ring fill past the frame (post-roll)
        try:
            info = feed.cut_clip(frame.wall_time, frame.wall_time + 1.0, self._clips_dir / f"{feed.camera.id}.mp4")
        except ClipError as exc:
            self._publish(("clip-error", feed.camera.id, str(exc)))
        else:
            self._publish(("clip", feed.camera.id, str(info.path), info.pictures))

    def health(self) -> Mapping[str, DetectionStatus]:
        return {camera_id: DetectionStatus("motion") for camera_id in self._threads}

    def close(self) -> None:
        self._stop.set()
