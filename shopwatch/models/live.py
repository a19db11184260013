"""Detection inside a worker process: the live ``FrameConsumer`` (see ``shopwatch.ingest.consumer``).

One thread per worker takes the frames every camera's reader handed on, runs them through one ``Pipeline`` (one
detector, so frames of several cameras share an inference call), and publishes the events. An event's clip is cut
from the camera's packet ring once its post-roll has arrived; the event is published then, with the clip's path
(or without a clip, logged, when the ring no longer reaches back to it). The pipeline is touched by this thread
only: camera changes are picked up at the top of each round.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.detect_config import CameraDetection, DetectSettings
from shopwatch.core.events import Event
from shopwatch.core.health import DetectionStatus
from shopwatch.ingest.clip import ClipError
from shopwatch.ingest.consumer import CameraFeed, Publish
from shopwatch.models.detector import PersonDetector, YoloDetector
from shopwatch.models.pipeline import Pipeline

log = logging.getLogger(__name__)

# A clip reaches back this far before the event's start (to the keyframe before that).
CLIP_PREROLL_S = 2.0


class LiveDetection:
    def __init__(
        self,
        settings: DetectSettings,
        fps: float,
        clips_dir: Path | None,
        postroll_s: float,
        publish: Publish,
        *,
        clock: Clock | None = None,
        detector: PersonDetector | None = None,
        poll_s: float = 0.05,
    ) -> None:
        """``detector`` defaults to the configured model (``settings.model``; none: degraded motion mode).
        A model that cannot load raises ``ModelUnavailable`` here, naming its path."""
        if detector is None and settings.model:
            detector = YoloDetector(settings, settings.model)
        self._clock = clock or SystemClock()
        self._pipeline = Pipeline(settings, detector, self._clock, fps)
        self._clips_dir = clips_dir
        self._postroll_s = postroll_s
        self._publish = publish
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._feeds: dict[str, CameraFeed] = {}
        self._configs: dict[str, CameraDetection] = {}  # what the pipeline was last given, per camera
        self._waiting: list[tuple[float, Event, CameraFeed]] = []  # events whose clip is not due yet
        self._status: dict[str, DetectionStatus] = {}  # replaced whole by the detection thread, read by health()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="detection", daemon=True)
        self._thread.start()

    def set_feeds(self, feeds: Mapping[str, CameraFeed]) -> None:
        with self._lock:
            self._feeds = dict(feeds)

    def health(self) -> Mapping[str, DetectionStatus]:
        return self._status

    def close(self) -> None:
        """Stop the thread; events still waiting for their post-roll are published now, with what the ring has."""
        self._stop.set()
        self._thread.join(timeout=5.0)
        waiting, self._waiting = self._waiting, []
        for _, event, feed in waiting:
            try:
                self._publish(self._with_clip(event, feed, self._clock.wall()))
            except Exception:  # the worker is going down (its pipe may be gone): say what was lost
                log.exception("camera %s: event %s could not be published at shutdown", event.camera_id, event.id)

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.run_once()
            except Exception:  # task boundary: one bad round must not end detection for the whole worker
                log.exception("detection round failed")

    def run_once(self) -> None:
        """One round: follow camera changes, process every pending frame, publish events whose clip is due."""
        with self._lock:
            feeds = self._feeds
        self._sync(feeds)
        frames = [frame for feed in feeds.values() for frame in feed.frames.drain()]
        if frames:
            for event in self._pipeline.process(frames):
                self._on_event(event, feeds.get(event.camera_id))
            self._status = {
                h.camera_id: DetectionStatus(h.mode.value, h.frames, h.detected, h.events)
                for h in self._pipeline.health()
            }
        self._publish_due()

    def _sync(self, feeds: Mapping[str, CameraFeed]) -> None:
        for camera_id in self._configs.keys() - feeds.keys():
            self._pipeline.remove_camera(camera_id)
            del self._configs[camera_id]
        for camera_id, feed in feeds.items():
            config = feed.camera.detection
            if self._configs.get(camera_id) != config:
                self._pipeline.set_camera(camera_id, config)
                self._configs[camera_id] = config

    def _on_event(self, event: Event, feed: CameraFeed | None) -> None:
        log.info(
            "camera %s: %s event (track %d, confidence %.2f)",
            event.camera_id,
            event.type,
            event.track_id,
            event.confidence,
        )
        if feed is None or self._clips_dir is None:
            self._publish(event)
            return
        due = max(event.end + self._postroll_s, self._clock.wall())
        self._waiting.append((due, event, feed))

    def _publish_due(self) -> None:
        if not self._waiting:
            return
        now = self._clock.wall()
        due = [w for w in self._waiting if w[0] <= now]
        self._waiting = [w for w in self._waiting if w[0] > now]
        for until, event, feed in due:
            self._publish(self._with_clip(event, feed, until))

    def _with_clip(self, event: Event, feed: CameraFeed, until: float) -> Event:
        assert self._clips_dir is not None
        path = self._clips_dir / event.camera_id / f"{event.id}.mp4"
        try:
            info = feed.cut_clip(event.start - CLIP_PREROLL_S, until, path)
        except ClipError as exc:
            log.warning("camera %s: no clip for event %s: %s", event.camera_id, event.id, exc)
            return event
        return replace(event, clip_path=str(info.path))
