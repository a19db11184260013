"""Motion stage: sensor noise is not motion, a person-sized change is, a lighting change recalibrates, masks hide."""

from __future__ import annotations

import numpy as np

from shopwatch.core.detect_config import MotionSettings
from shopwatch.models.motion import MotionDetector

W, H = 160, 90


def frames(n: int, seed: int = 0, noise: float = 4.0, level: float = 120.0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = np.tile(np.linspace(60, 180, W, dtype=np.float32), (H, 1))
    return [np.clip(base * level / 120 + rng.normal(0, noise, (H, W)), 0, 255).astype(np.uint8) for _ in range(n)]


def run(detector: MotionDetector, images: list[np.ndarray], t0: float = 0.0) -> list:  # type: ignore[type-arg]
    return [detector.update(image, t0 + i / 6) for i, image in enumerate(images)]


def test_sensor_noise_is_not_motion() -> None:
    results = run(MotionDetector(MotionSettings()), frames(30, noise=6.0))
    assert not any(r.moving for r in results)


def test_a_person_sized_change_is_motion_with_a_blob_where_it_is() -> None:
    detector = MotionDetector(MotionSettings())
    run(detector, frames(10))
    image = frames(1, seed=5)[0]
    image[30:80, 100:115] = 20  # a dark figure, 50 x 15 px
    result = detector.update(image, 10 / 6)
    assert result.moving and len(result.blobs) == 1
    x1, y1, x2, y2 = result.blobs.boxes[0]
    assert abs(x1 - 100 / W) < 0.03 and abs(y2 - 80 / H) < 0.05


def test_a_global_exposure_change_is_not_motion() -> None:
    detector = MotionDetector(MotionSettings())
    run(detector, frames(10))
    assert not any(r.moving for r in run(detector, frames(10, seed=9, level=170.0), t0=2.0))


def test_lights_switching_on_recalibrate_instead_of_firing() -> None:
    detector = MotionDetector(MotionSettings())
    run(detector, frames(10))
    lit = frames(10, seed=9)
    for image in lit:
        image[:, : W * 6 // 10] = np.clip(image[:, : W * 6 // 10].astype(int) + 90, 0, 255)  # the shop lights up
    results = run(detector, lit, t0=2.0)
    assert results[0].relit
    assert not any(r.moving for r in results)


def test_moving_things_under_the_mask_are_ignored() -> None:
    detector = MotionDetector(MotionSettings(), mask=[[(0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)]])
    run(detector, frames(10))
    image = frames(1, seed=5)[0]
    image[30:80, 100:115] = 20  # in the masked right half
    assert not detector.update(image, 2.0).moving
