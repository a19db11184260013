"""The person detector with the real COCO model: finds people, batches correctly, fails clearly, gated by motion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from shopwatch.core.clock import ManualClock
from shopwatch.core.detect_config import CameraDetection, DetectSettings
from shopwatch.core.frame import Frame
from shopwatch.models.detector import ModelUnavailable, YoloDetector
from shopwatch.models.offline import prepare_offline_env
from shopwatch.models.pipeline import DetectionMode, Pipeline
from tests.models.model_path import test_model


@pytest.fixture(scope="module")
def detector() -> YoloDetector:
    return YoloDetector(DetectSettings(batch_size=4), test_model())


@pytest.fixture(scope="module")
def people() -> np.ndarray:
    prepare_offline_env()
    from ultralytics.utils import ASSETS  # a street photo with four people, shipped with ultralytics

    return np.asarray(Image.open(ASSETS / "bus.jpg").convert("RGB"))


def test_finds_the_people_with_normalized_boxes(detector: YoloDetector, people: np.ndarray) -> None:
    [found] = detector.detect([people])
    assert len(found) >= 3
    assert np.all((found.boxes >= 0) & (found.boxes <= 1)) and np.all(found.class_ids == 0)
    assert np.all(found.heights > 0.25)  # full-length people in a portrait photo
    assert found.scores.min() >= DetectSettings().conf


def test_a_batch_gives_each_frame_its_own_result(detector: YoloDetector, people: np.ndarray) -> None:
    empty = np.full_like(people, 128)
    alone = detector.detect([people])[0]
    batch = detector.detect([people, empty, people, empty, empty, people])  # two calls of batch_size 4
    assert [len(d) > 0 for d in batch] == [True, False, True, False, False, True]
    for d in (batch[0], batch[2], batch[5]):
        assert len(d) == len(alone) and np.allclose(d.boxes, alone.boxes, atol=1e-3)


def test_a_missing_model_is_an_error_naming_the_path(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=str(tmp_path / "nope.pt")):
        YoloDetector(DetectSettings(), tmp_path / "nope.pt")


def test_an_unreadable_model_is_an_error_naming_the_path(tmp_path: Path) -> None:
    bad = tmp_path / "broken.pt"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ModelUnavailable, match=f"cannot load person model {bad}"):
        YoloDetector(DetectSettings(), bad)


def test_the_detector_runs_only_on_frames_with_motion(detector: YoloDetector, people: np.ndarray) -> None:
    clock = ManualClock(start=0.0, wall_start=1_800_000_000.0)
    settings = DetectSettings(active_hold_s=1.0)
    pipeline = Pipeline(settings, detector, clock, fps=6.0)
    pipeline.set_camera("cam-1", CameraDetection())
    h, w = people.shape[:2]
    x1, y1, x2, y2 = (detector.detect([people])[0].boxes[0] * [w, h, w, h]).astype(int)
    street = people.copy()
    street[y1:y2, x1:x2] = people[y1:y2, x1:x2].mean(axis=(0, 1))  # the same street without that person
    for i in range(12):  # 2 s of an empty, still street
        pipeline.process([Frame("cam-1", street, i / 6, clock.wall(), False, i)])
        clock.advance(1 / 6)
    [health] = pipeline.health()
    assert health.mode is DetectionMode.PERSON and health.frames == 12 and health.detected == 0
    pipeline.process([Frame("cam-1", people, 2.0, clock.wall(), False, 12)])  # the person walks in
    assert pipeline.health()[0].detected == 1


def test_without_a_model_the_camera_runs_degraded_and_says_so() -> None:
    pipeline = Pipeline(DetectSettings(), None, ManualClock(), fps=6.0)
    pipeline.set_camera("cam-1", CameraDetection())
    assert pipeline.health()[0].mode is DetectionMode.MOTION
