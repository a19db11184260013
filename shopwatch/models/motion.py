"""Motion: the cheap first stage, on downscaled luma, per camera. The detector runs only where and when it fires.

A running-average background per camera (time constant ``learn_s``), compared after compensating the global
gain (auto-exposure, dusk); pixels under the camera's ``motion_mask`` are ignored, a 3x3 blur and a minimum blob
area absorb sensor noise. When most of the frame changes at once (lights switched on, headlights sweeping) the
background is re-taken from the current picture and nothing fires: a lighting change is not motion."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from shopwatch.core.detect_config import MotionSettings
from shopwatch.core.detections import MOTION_CLASS, Detections
from shopwatch.models.zones import polygon_mask

Luma = npt.NDArray[np.uint8]
BLOB_SCORE = 0.5  # confidence given to a motion blob in degraded mode: it is not a person detection
SLOW_LEARN = 0.1  # moving pixels learn this much slower (a parked object is absorbed, a person is not)
MAX_GAIN_STEP = 0.5  # a frame brighter or darker than the background by more than this is a relight


@dataclass(frozen=True, slots=True)
class MotionResult:
    moving: bool
    fraction: float  # of the unmasked frame that changed
    relit: bool  # a lighting change was absorbed (background re-taken)
    blobs: Detections  # moving regions, normalized boxes, class MOTION_CLASS


def luma_of(rgb: npt.NDArray[np.uint8]) -> Luma:
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


class MotionDetector:
    """Per-camera motion state. ``update`` takes the downscaled luma of each frame in time order."""

    def __init__(self, settings: MotionSettings, mask: Sequence[Sequence[tuple[float, float]]] = ()) -> None:
        self._settings = settings
        self._mask_polygons = [tuple(p) for p in mask]
        self._background: npt.NDArray[np.float32] | None = None
        self._valid: npt.NDArray[np.bool_] | None = None
        self._last_t: float | None = None

    @property
    def background(self) -> npt.NDArray[np.float32] | None:
        return self._background

    def size_for(self, width: int, height: int) -> tuple[int, int]:
        """The downscaled (width, height) to feed for a frame of this size (aspect kept)."""
        w = min(self._settings.width, width)
        return w, max(8, round(height * w / width))

    def update(self, luma: Luma, t: float) -> MotionResult:
        current = cv2.blur(luma, (3, 3)).astype(np.float32)
        if self._background is None or self._background.shape != current.shape:
            return self._restart(current, t)
        valid = self._valid_mask(current.shape)
        alpha = self._alpha(t)
        gain = self._gain(current, valid)
        if gain is None:
            return self._restart(current, t, relit=True)
        diff = np.abs(current * gain - self._background)
        moving = (diff > self._settings.threshold) & valid
        fraction = float(moving.sum()) / max(1, int(valid.sum()))
        if fraction > self._settings.relight_fraction:
            return self._restart(current, t, relit=True)
        rate = np.where(moving, alpha * SLOW_LEARN, alpha).astype(np.float32)
        self._background += rate * (current - self._background)  # adapts to the new exposure too
        blobs = self._blobs(moving)
        return MotionResult(len(blobs) > 0, fraction, False, blobs)

    def _restart(self, current: npt.NDArray[np.float32], t: float, relit: bool = False) -> MotionResult:
        self._background = current.copy()
        self._last_t = t
        return MotionResult(False, 0.0, relit, Detections.empty())

    def _alpha(self, t: float) -> float:
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        return 1.0 - math.exp(-dt / self._settings.learn_s) if dt > 0 else 0.0

    def _gain(self, current: npt.NDArray[np.float32], valid: npt.NDArray[np.bool_]) -> float | None:
        """Median brightness ratio background / current: the global exposure change to undo, or None when the
        change is too large to undo (a relight)."""
        assert self._background is not None
        bg, cur = self._background[valid], current[valid]
        lit = (bg > 8) & (cur > 8)
        if lit.sum() < 16:
            return 1.0
        gain = float(np.median(bg[lit] / cur[lit]))
        return gain if abs(gain - 1.0) <= MAX_GAIN_STEP else None

    def _valid_mask(self, shape: tuple[int, ...]) -> npt.NDArray[np.bool_]:
        if self._valid is None or self._valid.shape != shape:
            masked = polygon_mask(self._mask_polygons, shape[1], shape[0]) if self._mask_polygons else None
            self._valid = np.ones(shape, bool) if masked is None else ~masked
        return self._valid

    def _blobs(self, moving: npt.NDArray[np.bool_]) -> Detections:
        h, w = moving.shape
        closed = cv2.morphologyEx(moving.astype(np.uint8), cv2.MORPH_CLOSE, np.ones((5, 5), np.uint8))
        count, _, stats, _ = cv2.connectedComponentsWithStats(closed, connectivity=8)
        min_px = self._settings.min_area * w * h
        boxes = [(x / w, y / h, (x + bw) / w, (y + bh) / h) for x, y, bw, bh, area in stats[1:count] if area >= min_px]
        if not boxes:
            return Detections.empty()
        n = len(boxes)
        return Detections.build(boxes, np.full(n, BLOB_SCORE), np.full(n, MOTION_CLASS))
