"""The detection thread inside a worker process: the live ``FrameConsumer`` (see ``shopwatch.core.consumer``).

One thread per worker takes the frames every camera's reader handed on, runs them through one ``Pipeline`` (one
detector, so frames of several cameras share an inference call; in the service that detector is the node's
detector process, shared by every worker), and submits the events to the sink it was
given. It turns frames into events and nothing more: the worker's sink (``ingest.postroll``) waits for each
event's post-roll and cuts its clip from the packet ring. The pipeline is touched by this thread only: camera
changes are picked up at the top of each round.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping

from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.consumer import CameraFeed
from shopwatch.core.detect_config import CameraDetection, DetectSettings
from shopwatch.core.events import Event, EventSink
from shopwatch.core.health import DetectionStatus
from shopwatch.models.detector import PersonDetector, YoloDetector
from shopwatch.models.pipeline import Pipeline

log = logging.getLogger(__name__)


class DetectionThread:
    def __init__(
        self,
        settings: DetectSettings,
        fps: float,
        sink: EventSink,
        *,
        clock: Clock | None = None,
        detector: PersonDetector | None = None,
        poll_s: float = 0.05,
    ) -> None:
        """``detector``: the service gives the node's (``models.detector_client.NodeDetectorClient``: the model
        stays out of this process); else the configured model is loaded here (``settings.model``; none: degraded
        motion mode). A model that cannot load raises ``ModelUnavailable`` here, naming its path."""
        if detector is None and settings.model:
            detector = YoloDetector(settings, settings.model)
        self._clock = clock or SystemClock()
        self._pipeline = Pipeline(settings, detector, self._clock, fps)
        self._sink = sink
        self._poll_s = poll_s
        self._lock = threading.Lock()
        self._feeds: dict[str, CameraFeed] = {}
        self._configs: dict[str, CameraDetection] = {}  # what the pipeline was last given, per camera
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
        """Stop the thread (the round under way finishes and submits its events)."""
        self._stop.set()
        self._thread.join(timeout=5.0)

    def _run(self) -> None:
        while not self._stop.wait(self._poll_s):
            try:
                self.run_once()
            except Exception:  # task boundary: one bad round must not end detection for the whole worker
                log.exception("detection round failed")

    def run_once(self) -> None:
        """One round: follow camera changes, process every pending frame, submit the events."""
        with self._lock:
            feeds = self._feeds
        changed = self._sync(feeds)
        frames = [frame for feed in feeds.values() for frame in feed.frames.drain()]
        if frames:
            for event in self._pipeline.process(frames):
                self._on_event(event)
        if frames or changed:  # a camera's calibration and spots show before its first frame
            self._status = {
                h.camera_id: DetectionStatus(
                    h.mode.value, h.frames, h.detected, h.events, h.dropped, h.detector_down,
                    calibration=h.calibration, ignored_spots=h.ignored_spots, suppressed_by_spots=h.suppressed_by_spots,
                )
                for h in self._pipeline.health()
            }

    def _sync(self, feeds: Mapping[str, CameraFeed]) -> bool:
        changed = False
        for camera_id in self._configs.keys() - feeds.keys():
            self._pipeline.remove_camera(camera_id)
            del self._configs[camera_id]
            changed = True
        for camera_id, feed in feeds.items():
            config = feed.camera.detection
            if self._configs.get(camera_id) != config:
                self._pipeline.set_camera(camera_id, config)
                self._configs[camera_id] = config
                changed = True
        return changed

    def _on_event(self, event: Event) -> None:
        log.info(
            "camera %s: %s event (track %d, confidence %.2f)",
            event.camera_id,
            event.type,
            event.track_id,
            event.confidence,
        )
        self._sink.submit(event)
