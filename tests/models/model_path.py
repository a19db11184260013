"""Where the real COCO person model is for tests: SHOPWATCH_TEST_MODEL, else ../shared/models (skip when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEFAULT = Path(__file__).resolve().parents[3] / "shared" / "models" / "yolo11n_int8_openvino_model"


def test_model() -> Path:
    path = Path(os.environ.get("SHOPWATCH_TEST_MODEL", DEFAULT))
    if not path.exists():
        pytest.skip(f"no person model at {path} (set SHOPWATCH_TEST_MODEL to a YOLO model to run this test)")
    return path


test_model.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test
