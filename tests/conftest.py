"""Fixtures shared across packages. Database fixtures (``db_url``, ``engine``) live in tests/store/db_fixtures.py."""

from __future__ import annotations

import os
from pathlib import Path

pytest_plugins = ["tests.store.db_fixtures"]
_KEPT: list[object] = []


def _load_the_person_model_first() -> None:
    """Load the person model once before anything loads GStreamer in this process.

    Once GStreamer's plugins are loaded (the simulated RTSP server runs in-process in many tests), a first
    ultralytics/OpenVINO model load crashes the process (seen here: SIGSEGV/SIGABRT in OpenVINO's model loading
    after an in-process SimServer ran; loading a model first, then GStreamer, then more models works). The
    service never mixes them: detection runs in worker processes that never load GStreamer. This runs when the
    root conftest is imported, before the conftests below it (tests/sim's imports GStreamer)."""
    from tests.models.model_path import DEFAULT

    model = Path(os.environ.get("SHOPWATCH_TEST_MODEL", DEFAULT))
    if not model.exists():
        return
    from shopwatch.core.detect_config import DetectSettings
    from shopwatch.models.detector import YoloDetector

    _KEPT.append(YoloDetector(DetectSettings(), model))  # kept: freeing it unloads OpenVINO's plugin again


_load_the_person_model_first()
