"""Load a CAMERA.yaml (the detection part of one camera entry) with the fleet config's error reporting:
every problem with its key path and line (``cam.yaml: line 4: rules.loitering.dwell_s: ...``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shopwatch.core.config_loader import format_loc, parse_yaml_with_lines
from shopwatch.core.detect_config import CameraDetection
from shopwatch.core.errors import ConfigError, ConfigProblem


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key (not part of the camera detection schema)"
    if err["type"] == "missing":
        return "required key is missing"
    value = err.get("input")
    msg = str(err["msg"])
    return f"{msg} (found {value!r})" if isinstance(value, str | int | float | bool) else msg


def camera_detection_from_text(text: str, source: str = "<camera config>") -> CameraDetection:
    data, located = parse_yaml_with_lines(text, source)
    if not isinstance(data, dict):
        raise ConfigError(source, [ConfigProblem("(top level)", "expected a mapping with zones and rules", 1)])
    try:
        return CameraDetection.model_validate(data)
    except ValidationError as exc:
        problems = [
            ConfigProblem(format_loc(tuple(e["loc"])), _message(e), located.line_of(tuple(e["loc"])))
            for e in exc.errors()
        ]
        raise ConfigError(source, sorted(problems, key=lambda p: (p.line or 0, p.where))) from None


def load_camera_detection(path: str | Path) -> CameraDetection:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), [ConfigProblem("(file)", f"cannot read: {exc.strerror}")]) from None
    return camera_detection_from_text(text, str(path))
