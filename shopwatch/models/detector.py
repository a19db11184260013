"""Person detector backends. The model comes from a configured path, never from a download.

``YoloDetector`` runs an ultralytics model (``.pt``, ONNX, an OpenVINO folder ...) on the frames of several
cameras in one call. A static-batch export (the OpenVINO INT8 YOLO11n is batch 1) is split by ultralytics'
AutoBackend; the call still shares the preprocessing, the postprocessing and the Python overhead across the batch
(see benchmarks/detect_cost.py). ``detect.model_batch`` re-shapes such an OpenVINO model to a larger batch at load
(``models/rebatch.py``: its attention reshapes pin the batch too, and are unpinned)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.detections import Detections
from shopwatch.core.errors import ShopwatchError, Unavailable
from shopwatch.core.frame import Rgb
from shopwatch.models.offline import prepare_offline_env
from shopwatch.models.rebatch import RebatchError, rebatch

MODEL_SUFFIXES = (".pt", ".onnx", ".torchscript", ".engine", ".xml")


class ModelUnavailable(ShopwatchError):
    """The configured person model is missing or cannot be loaded."""


class DetectorUnavailable(Unavailable):
    """The node's detector process cannot answer now (starting, restarting, hung): run on motion meanwhile."""


class PersonDetector(Protocol):
    def detect(self, images: Sequence[Rgb]) -> Sequence[Detections | None]:
        """People in each RGB image (normalized boxes, no track ids), in the order given. ``None`` for an image
        the detector dropped unseen (a full queue); raises ``DetectorUnavailable`` when it cannot answer at all."""
        ...


def check_model_path(path: Path) -> None:
    """Raises ``ModelUnavailable`` naming the path when it cannot be a model (checked at start-up, before workers)."""
    if not path.exists():
        raise ModelUnavailable(f"person model not found: {path} (detect.model or --model names a file or folder)")
    if path.is_dir() and not any(path.glob("*.xml")) and not any(path.glob("*.onnx")):
        raise ModelUnavailable(f"person model folder {path} holds no OpenVINO .xml (or .onnx) model")
    if path.is_file() and path.suffix not in MODEL_SUFFIXES:
        raise ModelUnavailable(
            f"person model {path}: expected one of {', '.join(MODEL_SUFFIXES)}, found {path.suffix!r}"
        )


class YoloDetector:
    def __init__(self, settings: DetectSettings, model_path: str | Path) -> None:
        path = Path(model_path)
        check_model_path(path)
        prepare_offline_env()
        from ultralytics import YOLO

        self._settings = settings
        self.path = path
        # detect.model_batch > 1: the model re-shaped to that batch, in a folder that lives as long as this object.
        self._rebatched: tempfile.TemporaryDirectory[str] | None = None
        if settings.model_batch > 1:
            self._rebatched = tempfile.TemporaryDirectory(prefix="shopwatch-model-")
            try:
                path = rebatch(path, settings.model_batch, Path(self._rebatched.name))
            except RebatchError as exc:
                self._rebatched.cleanup()
                raise ModelUnavailable(f"cannot load person model {self.path}: {exc}") from None
        try:
            self._model: Any = YOLO(str(path), task="detect")
            self._run([np.zeros((settings.imgsz // 2, settings.imgsz, 3), np.uint8)])  # load and compile now
        except ModelUnavailable:
            raise
        except Exception as exc:  # any loader failure (corrupt file, wrong format) is one clear startup error
            raise ModelUnavailable(f"cannot load person model {path}: {type(exc).__name__}: {exc}") from None

    def detect(self, images: Sequence[Rgb]) -> list[Detections]:
        out: list[Detections] = []
        size = self._settings.batch_size
        for start in range(0, len(images), size):
            out.extend(self._run(images[start : start + size]))
        return out

    def _run(self, images: Sequence[Rgb]) -> list[Detections]:
        if not images:
            return []
        s = self._settings
        bgr = [np.ascontiguousarray(image[..., ::-1]) for image in images]  # ultralytics takes arrays as BGR
        results = self._model.predict(
            bgr, imgsz=s.imgsz, conf=s.conf, iou=s.iou, classes=[s.person_class], device=s.device, verbose=False
        )
        out = []
        for result in results:
            boxes = result.boxes.cpu().numpy()
            out.append(Detections.build(boxes.xyxyn, boxes.conf, boxes.cls))
        return out
