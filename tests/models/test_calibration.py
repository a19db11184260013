"""Calibration in the detector: a zone's noise measured by ``Calibrator`` is what its surface starts from instead
of the built-in prior. On a noisy camera that suppresses a noise-sized patch the prior would raise; on a quiet one
(at night, with a low ``diff_threshold``) it finds a faint card the prior would miss. Day and night calibrations:
the one nearest the picture's luma is used."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from shopwatch.core.detect_config import CameraDetection, MotionSettings
from shopwatch.core.frame import Frame
from shopwatch.core.learnt import ZoneCalibration
from shopwatch.models.calibration import Calibrator
from shopwatch.models.surface import PatchSpec, Pictures, SurfaceBackground, find_patches
from shopwatch.models.zones import zone_shapes

W, H, FPS = 320, 180, 6.0
DETECTION = CameraDetection.model_validate(
    {"zones": [{"name": "wall", "kind": "surface", "polygon": [[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]]}]}
)
ZONE = zone_shapes(DETECTION.zones)["wall"]
NO_ACTORS = np.zeros((0, 4), np.float32)


def frames(level: float, sigma: float, n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = np.full((H, W, 1), level, np.float32) + np.linspace(-10, 10, W, dtype=np.float32)[None, :, None]
    noisy = [np.clip(base + rng.normal(0, sigma, (H, W, 1)), 0, 255) for _ in range(n)]
    return [image.repeat(3, axis=2).astype(np.uint8) for image in noisy]


def calibrated(level: float, sigma: float) -> ZoneCalibration:
    calibrator = Calibrator(DETECTION, MotionSettings())
    for i, image in enumerate(frames(level, sigma, 60, seed=1)):
        calibrator.update(Frame("cam", image, i / FPS, 1000 + i / FPS, False, i))
    [cal] = calibrator.results(datetime(2026, 12, 1, tzinfo=UTC))
    return cal


def strength_of_a_patch(surface: SurfaceBackground, level: float, sigma: float, change: float, floor: int) -> float:
    """Start the surface on a few frames (as a camera just started), then a square ``change`` grey levels
    brighter: the strength it is found with (0: not found)."""
    images = frames(level, sigma, 8, seed=2)
    for i, image in enumerate(images):
        surface.update(image, NO_ACTORS, 1000 + i / FPS)
    before = surface.snapshot()
    assert before is not None and surface.region is not None
    r = surface.region
    after = images[-1][r.y1 : r.y2, r.x1 : r.x2].astype(np.float32)
    after[40:48, 60:68] += change
    pictures = Pictures(before.image, after, after, before.known, before.noise)
    found = find_patches(pictures, PatchSpec(3, 40, floor), (r.x1, r.y1), (W, H))
    return max(found.strengths, default=0.0)


def test_a_noisy_cameras_calibration_suppresses_a_patch_the_prior_would_raise() -> None:
    cal = calibrated(120, 5)
    assert cal.band == "day" and 8 < cal.noise_median < 12  # luma sigma 5, as the largest channel's frame noise
    assert strength_of_a_patch(SurfaceBackground(ZONE), 120, 5, 55, 25) >= 1.6  # the prior: an event
    assert strength_of_a_patch(SurfaceBackground(ZONE, [cal]), 120, 5, 55, 25) == 0.0  # calibrated: noise


def test_a_quiet_night_cameras_calibration_finds_a_faint_card_the_prior_would_miss() -> None:
    cal = calibrated(25, 0.6)
    assert cal.band == "night" and cal.suggested_diff_threshold <= 8
    assert strength_of_a_patch(SurfaceBackground(ZONE), 25, 0.6, 16, 5) == 0.0
    assert strength_of_a_patch(SurfaceBackground(ZONE, [cal]), 25, 0.6, 16, 5) >= 1.6


def test_the_calibration_nearest_the_pictures_luma_is_the_one_started_from() -> None:
    day, night = calibrated(120, 5), calibrated(25, 0.6)
    for level, wanted in ((130, day), (20, night)):
        surface = SurfaceBackground(ZONE, [day, night])
        surface.update(frames(level, 1, 1, seed=3)[0], NO_ACTORS, 1000)
        assert surface.calibration == wanted


def test_a_surface_without_calibration_says_so() -> None:
    surface = SurfaceBackground(ZONE)
    surface.update(frames(120, 1, 1, seed=3)[0], NO_ACTORS, 1000)
    assert surface.calibration is None


@pytest.mark.parametrize("moving", [True, False])
def test_frames_with_something_moving_in_front_are_skipped(moving: bool) -> None:
    calibrator = Calibrator(DETECTION, MotionSettings())
    for i, image in enumerate(frames(120, 2, 60, seed=4)):
        if moving and 20 <= i < 35:
            x = 40 + (i - 20) * 12
            image[40:170, x : x + 40] = (30, 40, 80)
        calibrator.update(Frame("cam", image, i / FPS, 1000 + i / FPS, False, i))
    [cal] = calibrator.results(datetime(2026, 12, 1, tzinfo=UTC))
    if moving:
        assert cal.skipped >= 15 and cal.noise_p90 < 8
    else:
        assert cal.skipped == 0
