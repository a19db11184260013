"""``detect.model_batch``: the batch-1 OpenVINO export re-shaped at load answers exactly as at batch 1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from pydantic import ValidationError

from shopwatch.core.detect_config import DetectSettings
from shopwatch.models.detector import ModelUnavailable, YoloDetector
from shopwatch.models.offline import prepare_offline_env
from shopwatch.models.rebatch import RebatchError, rebatch
from tests.models.model_path import test_model


@pytest.fixture(scope="module")
def people() -> np.ndarray:
    prepare_offline_env()
    from ultralytics.utils import ASSETS  # a street photo with four people, shipped with ultralytics

    return np.asarray(Image.open(ASSETS / "bus.jpg").convert("RGB"))


def test_a_rebatched_model_finds_the_same_people_in_a_short_batch(people: np.ndarray) -> None:
    model = test_model()
    if not list(model.glob("*.xml")):
        pytest.skip(f"{model} is not an OpenVINO folder")
    empty = np.full_like(people, 128)
    frames = [people, empty, people[:, ::-1].copy()]  # 3 frames: the model's batch of 4 is padded
    single = YoloDetector(DetectSettings(batch_size=4), model).detect(frames)
    batched = YoloDetector(DetectSettings(batch_size=4, model_batch=4), model)
    found = batched.detect(frames)
    assert [len(d) for d in found] == [len(d) for d in single] and len(found[0]) >= 3 and len(found[1]) == 0
    for got, want in zip(found, single, strict=True):
        assert np.allclose(got.boxes, want.boxes, atol=1e-3) and np.allclose(got.scores, want.scores, atol=1e-3)


def test_the_rebatched_folder_says_its_batch_to_ultralytics(tmp_path: Path) -> None:
    model = test_model()
    if not list(model.glob("*.xml")):
        pytest.skip(f"{model} is not an OpenVINO folder")
    out = rebatch(model, 2, tmp_path)
    assert out.name.endswith("_openvino_model") and len(list(out.glob("*.xml"))) == 1
    meta = yaml.safe_load((out / "metadata.yaml").read_text())
    assert meta["batch"] == 2 and meta["args"]["batch"] == 2 and meta["names"][0] == "person"


def test_a_model_that_is_not_openvino_cannot_be_rebatched_and_says_what_to_do(tmp_path: Path) -> None:
    weights = tmp_path / "people.pt"
    weights.write_bytes(b"weights")
    with pytest.raises(RebatchError, match=r"needs an OpenVINO model .*people\.pt.*model_batch to 1"):
        rebatch(weights, 8, tmp_path / "out")
    with pytest.raises(ModelUnavailable, match=r"cannot load person model .*people\.pt: .*OpenVINO"):
        YoloDetector(DetectSettings(batch_size=8, model_batch=8), weights)


def test_batch_size_must_fill_whole_model_batches() -> None:
    with pytest.raises(ValidationError, match=r"batch_size \(8\) must be a multiple of model_batch \(16\)"):
        DetectSettings(batch_size=8, model_batch=16)
    assert DetectSettings(batch_size=16, model_batch=8).model_batch == 8
