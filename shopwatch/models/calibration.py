"""Calibrating a camera: measure each surface zone's temporal noise while nothing happens there.

The same noise the detector measures (``surface.SurfaceBackground``): the frame-to-frame change of each pixel's
luma, scaled to the largest-channel difference patches are judged on, as a standard deviation; here averaged over
every quiet frame of the run instead of the last seconds. A zone is quiet when nothing moved over it for
``QUIET_S``: no person box (when a person model is given) or motion blob touches it, and less than
``MOVED_FRACTION`` of its pixels changed from one frame to the next (averaged over ``MOVED_BLUR`` pixels, so a
flickering pixel does not count and a moving edge does); frames that are not are skipped and counted,
so someone walking past during the calibration does not pass for noise. Each zone's result records the mean luma
it was measured at (day or night) and the ``diff_threshold`` its noise needs at least."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime

import cv2
import numpy as np
import numpy.typing as npt

from shopwatch.core.detect_config import CameraDetection, MotionSettings, ZoneKind
from shopwatch.core.errors import Invalid
from shopwatch.core.frame import Frame, Rgb
from shopwatch.core.learnt import ZoneCalibration, band_of
from shopwatch.models.detector import PersonDetector
from shopwatch.models.motion import MotionDetector, luma_of
from shopwatch.models.noise_prior import encode_grid
from shopwatch.models.surface import ACTOR_MARGIN, GHOST_FLOOR, LUMA_TO_RGB, NOISE_SIGMAS, PixelBox
from shopwatch.models.zones import ZoneShape, zone_shapes

QUIET_S = 1.0  # a zone is measured again this long after something last moved over it
MOVED_FRACTION = 0.01  # of a zone's pixels changing by GHOST_FLOOR from one frame to the next: something moved
MOVED_BLUR = 7  # pixels: the change is averaged over this square first (noise cancels, a moving edge stays)
STEP_CAP = 48.0  # grey levels: a change this large is an event, not noise (a pixel's flicker stays well below)
MIN_QUIET_FRAMES = 30  # a zone measured on fewer quiet frames (5 s at 6 fps) is not calibrated
MIN_DIFF_THRESHOLD = 5  # the least diff_threshold the configuration accepts


class NothingToCalibrate(Invalid):
    """The camera has no surface zone, or a zone was never quiet long enough to be measured."""


@dataclass
class _ZoneNoise:
    zone: ZoneShape
    region: PixelBox | None = None
    frame_size: tuple[int, int] = (0, 0)
    prev: npt.NDArray[np.uint8] | None = None
    sumsq: npt.NDArray[np.float64] | None = None
    quiet: int = 0
    skipped: int = 0
    luma_sum: float = 0.0
    last_busy_t: float = -math.inf
    busy_reasons: dict[str, int] = field(default_factory=dict)

    def update(self, image: Rgb, busy: npt.NDArray[np.float32], t: float) -> None:
        h, w = image.shape[:2]
        if self.region is None or self.frame_size != (w, h):
            self.region, self.frame_size, self.prev, self.sumsq = PixelBox.of(self.zone.bbox, w, h), (w, h), None, None
        r = self.region
        region = np.ascontiguousarray(image[r.y1 : r.y2, r.x1 : r.x2])
        gray = np.asarray(cv2.cvtColor(region, cv2.COLOR_RGB2GRAY), np.uint8)
        prev, self.prev = self.prev, gray
        if prev is None:
            return
        signed = gray.astype(np.float32) - prev.astype(np.float32)
        step = np.abs(signed) * np.float32(LUMA_TO_RGB)
        reason = self._busy(signed, busy)
        if reason is not None:
            self.last_busy_t = t
            self.busy_reasons[reason] = self.busy_reasons.get(reason, 0) + 1
        if t - self.last_busy_t < QUIET_S:
            self.skipped += 1
            return
        if self.sumsq is None:
            self.sumsq = np.zeros(gray.shape, np.float64)
        sigma = np.minimum(step / np.float32(math.sqrt(2.0)), np.float32(STEP_CAP))  # as the detector measures it
        self.sumsq += np.square(sigma, dtype=np.float64)
        self.quiet += 1
        self.luma_sum += float(gray.mean())

    def _busy(self, signed: npt.NDArray[np.float32], busy: npt.NDArray[np.float32]) -> str | None:
        x1, y1, x2, y2 = self.zone.bbox
        for bx1, by1, bx2, by2 in busy:
            m = ACTOR_MARGIN * (by2 - by1)
            if bx1 - m < x2 and bx2 + m > x1 and by1 - m < y2 and by2 + m > y1:
                return "someone or something moving in front of it"
        # Averaged over a neighbourhood, a pixel's flicker cancels out and a moving thing's change does not.
        coherent = np.abs(cv2.blur(signed, (MOVED_BLUR, MOVED_BLUR))) * np.float32(LUMA_TO_RGB)
        if float((coherent > GHOST_FLOOR).mean()) > MOVED_FRACTION:
            return "its picture changed from one frame to the next"
        return None

    def result(self, measured_at: datetime) -> ZoneCalibration:
        if self.sumsq is None or self.quiet < MIN_QUIET_FRAMES:
            why = ", ".join(f"{n} frames: {reason}" for reason, n in self.busy_reasons.items()) or "no frames"
            raise NothingToCalibrate(
                f"zone {self.zone.name!r} was quiet in {self.quiet} frames, at least {MIN_QUIET_FRAMES} are needed "
                f"({why}); calibrate when nobody is there, or for longer"
            )
        noise = np.sqrt(self.sumsq / self.quiet).astype(np.float32)
        rows, cols, grid = encode_grid(noise)
        seen = np.asarray(cv2.dilate(noise, np.ones((3, 3), np.uint8)))  # what a pixel's change is judged against
        luma = self.luma_sum / self.quiet
        needed = max(MIN_DIFF_THRESHOLD, math.ceil(NOISE_SIGMAS * float(np.median(seen))))
        return ZoneCalibration(
            zone=self.zone.name, band=band_of(luma), measured_at=measured_at, luma=round(luma, 1),
            frame_width=self.frame_size[0], frame_height=self.frame_size[1], rows=rows, cols=cols, noise=grid,
            noise_median=round(float(np.median(noise)), 2), noise_p90=round(float(np.percentile(noise, 90)), 2),
            suggested_diff_threshold=int(min(255, needed)), frames=self.quiet, skipped=self.skipped,
        )  # fmt: skip


class Calibrator:
    """Feed it a camera's frames (``update``), then take one calibration per surface zone (``results``)."""

    def __init__(
        self, detection: CameraDetection, motion: MotionSettings, detector: PersonDetector | None = None
    ) -> None:
        shapes = zone_shapes(detection.zones)
        surfaces = [z.name for z in detection.zones if z.kind is ZoneKind.SURFACE]
        if not surfaces:
            raise NothingToCalibrate("the camera has no surface zone (detection.zones with kind: surface)")
        self._zones = [_ZoneNoise(shapes[name]) for name in surfaces]
        self._motion = MotionDetector(motion, detection.motion_mask)
        self._detector = detector
        self.frames = 0

    def update(self, frame: Frame) -> None:
        width, height = self._motion.size_for(frame.width, frame.height)
        moving = self._motion.update(luma_of(frame.to_rgb(width, height)), frame.wall_time)
        busy = moving.blobs.boxes
        if self._detector is not None and len(busy):  # the person model only where something moved
            people = self._detector.detect([frame.image])[0]
            if people is not None:  # None: dropped unseen (a node's detector under load); motion alone then
                busy = np.concatenate([busy, people.boxes])
        for zone in self._zones:
            zone.update(frame.image, busy, frame.wall_time)
        self.frames += 1

    def results(self, measured_at: datetime) -> list[ZoneCalibration]:
        """One calibration per surface zone; ``NothingToCalibrate`` (naming the zone) if one was never quiet."""
        return [zone.result(measured_at) for zone in self._zones]
