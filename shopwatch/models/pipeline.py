"""The detection pipeline: motion -> person detector (batched) -> tracker -> zones -> rules, per camera.

One ``Pipeline`` per worker holds the detector; per-camera state lives inside it. ``process`` takes frames of
several cameras at once and returns the events they completed; the same code runs live and in ``analyze``.
All rule timing uses the frames' own wall times (``Frame.wall_time``), so a file analysed faster than real time
behaves as it would live; the injected clock stamps ``detected_at`` (latency = detected_at - end).

The detector runs only for cameras with motion, or with people tracked in the last ``active_hold_s``. A camera
configured without person detection, or a pipeline without a person model, runs its rules on tracked motion
blobs: a stated, degraded mode, visible in ``health()``. So does a person camera while the detector cannot answer
(``DetectorUnavailable``: the node's detector process is restarting), on a tracker of its own, until it answers
again. A frame the detector dropped unseen (its queue was full) is counted and skipped by the tracker and rules,
as if the camera had sent one frame fewer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from shopwatch.core.clock import Clock
from shopwatch.core.detect_config import CameraDetection, DetectSettings
from shopwatch.core.detections import Detections
from shopwatch.core.events import Event
from shopwatch.core.frame import Frame
from shopwatch.models.bridge import MotionBridge
from shopwatch.models.detector import DetectorUnavailable, PersonDetector
from shopwatch.models.motion import MotionDetector, MotionResult, luma_of
from shopwatch.models.rules.base import Observation, Rule
from shopwatch.models.rules.card_posting import CardPosting
from shopwatch.models.rules.intrusion import Intrusion
from shopwatch.models.rules.loitering import Loitering
from shopwatch.models.tracker import Tracker
from shopwatch.models.zones import zone_shapes

MIN_BLOB_HEIGHT = 0.08  # degraded mode: motion blobs shorter than this (of the frame) are not actors


class DetectionMode(StrEnum):
    PERSON = "person"  # person model + tracker
    MOTION = "motion"  # degraded: tracked motion blobs


@dataclass(frozen=True, slots=True)
class DetectionHealth:
    camera_id: str
    mode: DetectionMode
    frames: int = 0  # frames seen
    detected: int = 0  # frames the person detector ran on
    relights: int = 0  # lighting changes absorbed by the motion stage
    events: int = 0
    dropped: int = 0  # frames the detector dropped unseen (full queue); tracker and rules skipped them
    detector_down: str | None = None  # a person camera on motion now: why the detector cannot answer
    calibration: str = "default"  # "default" (never calibrated: built-in noise prior) or when it was measured
    ignored_spots: int = 0
    suppressed_by_spots: int = 0  # card-posting visits that raised nothing because of an ignored spot


class _Camera:
    def __init__(
        self, camera_id: str, config: CameraDetection, mode: DetectionMode, settings: DetectSettings, fps: float
    ) -> None:
        self.config = config
        self.mode = mode
        self.tz = ZoneInfo(config.timezone) if config.timezone else None
        self.motion = MotionDetector(settings.motion, config.motion_mask)
        self.tracker = Tracker(fps, settings.track_lost_s, settings.conf, settings.track_conf)
        self.motion_tracker: Tracker | None = None  # a person camera's blobs while the detector is away
        self.bridge = MotionBridge()  # people the detector lost, carried on their motion
        self.rules = _rules(camera_id, config)
        self.last_busy_t = float("-inf")  # last frame with motion or tracked people
        self.health = DetectionHealth(
            camera_id, mode, calibration=config.learnt.calibration_label(), ignored_spots=len(config.learnt.spots)
        )

    def card_posting(self) -> CardPosting | None:
        return next((r for r in self.rules if isinstance(r, CardPosting)), None)

    def set_spots(self, config: CameraDetection) -> None:
        """Only the ignored spots changed: hand them to the rule, keeping every surface's learnt state."""
        self.config = config
        rule = self.card_posting()
        if rule is not None:
            rule.set_spots(config.learnt.spots)
        self.health = replace(self.health, ignored_spots=len(config.learnt.spots))

    def local_time(self, t: float) -> time:
        return datetime.fromtimestamp(t, self.tz).time() if self.tz else datetime.fromtimestamp(t).time()


def _rules(camera_id: str, config: CameraDetection) -> list[Rule]:
    shapes = zone_shapes(config.zones)
    rules: list[Rule] = []
    r = config.rules
    if r.card_posting is not None:
        zones = [shapes[z] for z in r.card_posting.zones]
        rules.append(CardPosting(camera_id, r.card_posting, zones, config.learnt))
    if r.loitering is not None:
        rules.append(Loitering(camera_id, r.loitering, [shapes[z] for z in r.loitering.zones]))
    if r.intrusion is not None:
        rules.append(Intrusion(camera_id, r.intrusion, [shapes[z] for z in r.intrusion.zones]))
    return rules


def _without_spots(config: CameraDetection) -> CameraDetection:
    return config.model_copy(update={"learnt": config.learnt.model_copy(update={"spots": ()})})


class Pipeline:
    def __init__(self, settings: DetectSettings, detector: PersonDetector | None, clock: Clock, fps: float) -> None:
        self._settings = settings
        self._detector = detector
        self._clock = clock
        self._fps = fps
        self._cameras: dict[str, _Camera] = {}
        self._detector_down: str | None = None  # why the detector could not answer the last call; None: it did

    def set_camera(self, camera_id: str, config: CameraDetection) -> None:
        """Add a camera, or restart its detection state when its detection config changed."""
        current = self._cameras.get(camera_id)
        if current is not None and current.config == config:
            return
        if current is not None and _without_spots(current.config) == _without_spots(config):
            current.set_spots(config)
            return
        person = config.person_detection and self._detector is not None
        mode = DetectionMode.PERSON if person else DetectionMode.MOTION
        self._cameras[camera_id] = _Camera(camera_id, config, mode, self._settings, self._fps)

    def remove_camera(self, camera_id: str) -> None:
        self._cameras.pop(camera_id, None)

    def health(self) -> list[DetectionHealth]:
        down = self._detector_down
        return [
            replace(camera.health, mode=DetectionMode.MOTION, detector_down=down)
            if down is not None and camera.mode is DetectionMode.PERSON
            else camera.health
            for camera in self._cameras.values()
        ]

    def process(self, frames: Sequence[Frame]) -> list[Event]:
        """Run every stage on these frames (any cameras, each camera's frames in time order)."""
        cameras = [self._camera_of(frame) for frame in frames]
        motions = [self._motion(camera, frame) for camera, frame in zip(cameras, frames, strict=True)]
        wanted = [
            i
            for i, (camera, frame, motion) in enumerate(zip(cameras, frames, motions, strict=True))
            if camera.mode is DetectionMode.PERSON
            and (motion.moving or frame.wall_time - camera.last_busy_t <= self._settings.active_hold_s)
        ]
        found, dropped = self._detect(frames, wanted)
        now = self._clock.wall()
        events: list[Event] = []
        for i, (camera, frame, motion) in enumerate(zip(cameras, frames, motions, strict=True)):
            if i in dropped:
                h = camera.health
                camera.health = replace(h, frames=h.frames + 1, dropped=h.dropped + 1)
                continue
            actors = self._actors(camera, motion, found.get(i), frame.wall_time)
            if motion.moving or len(actors):
                camera.last_busy_t = frame.wall_time
            obs = Observation(frame.wall_time, camera.local_time(frame.wall_time), actors, frame, now, motion.blobs)
            new = [event for rule in camera.rules for event in rule.update(obs)]
            h = camera.health
            card = camera.card_posting()
            camera.health = replace(
                h, frames=h.frames + 1, detected=h.detected + (i in found), events=h.events + len(new),
                suppressed_by_spots=h.suppressed_by_spots if card is None else card.suppressed_by_spots,
            )  # fmt: skip
            events.extend(new)
        return events

    def _detect(self, frames: Sequence[Frame], wanted: list[int]) -> tuple[dict[int, Detections], set[int]]:
        """People in the wanted frames, and the frames the detector dropped unseen."""
        if not wanted or self._detector is None:
            return {}, set()
        try:
            results = self._detector.detect([frames[i].image for i in wanted])
        except DetectorUnavailable as exc:
            self._detector_down = str(exc)
            return {}, set()
        self._detector_down = None
        found = {i: people for i, people in zip(wanted, results, strict=True) if people is not None}
        return found, set(wanted) - found.keys()

    def _camera_of(self, frame: Frame) -> _Camera:
        camera = self._cameras.get(frame.camera_id)
        if camera is None:
            raise KeyError(f"camera {frame.camera_id!r} has no detection state: call set_camera first")
        return camera

    def _motion(self, camera: _Camera, frame: Frame) -> MotionResult:
        width, height = camera.motion.size_for(frame.width, frame.height)
        result = camera.motion.update(luma_of(frame.to_rgb(width, height)), frame.wall_time)
        if result.relit:
            camera.health = replace(camera.health, relights=camera.health.relights + 1)
        return result

    def _actors(
        self, camera: _Camera, motion: MotionResult, people: Detections | None, frame_t: float
    ) -> Detections:
        if camera.mode is DetectionMode.MOTION:
            return camera.tracker.update(_actor_blobs(motion))
        if self._detector_down is not None:  # the detector is away: carry on with motion, on a tracker of its own
            if camera.motion_tracker is None:
                s = self._settings
                camera.motion_tracker = Tracker(self._fps, s.track_lost_s, s.conf, s.track_conf)
            return camera.motion_tracker.update(_actor_blobs(motion))
        camera.motion_tracker = None
        if people is None:
            return Detections.empty()  # gated: nothing moved and nobody was tracked lately
        return camera.bridge.update(frame_t, camera.tracker.update(people), motion.blobs)


def _actor_blobs(motion: MotionResult) -> Detections:
    return motion.blobs.select(motion.blobs.heights >= MIN_BLOB_HEIGHT)
