"""Make ultralytics (and OpenVINO) open no connection at all: police networks have no internet, and an
implicit download or pip install at run time would hang a worker. See ../shared/docs/OFFLINE_MODELS.md.

Must run before the first ``import ultralytics``: ultralytics reads these variables at import."""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import tempfile
from pathlib import Path

FONTS = ("Arial.ttf", "Arial.Unicode.ttf")  # ultralytics looks these up online when missing
_SYSTEM_FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),)


def default_config_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"shopwatch-ultralytics-{os.getuid()}"


def _local_ttf() -> Path | None:
    spec = importlib.util.find_spec("matplotlib")
    candidates = list(_SYSTEM_FONTS)
    for location in (spec.submodule_search_locations or []) if spec is not None else []:
        candidates.insert(0, Path(location) / "mpl-data" / "fonts" / "ttf" / "DejaVuSans.ttf")
    return next((p for p in candidates if p.is_file()), None)


def prepare_offline_env(config_dir: Path | None = None) -> Path:
    """Set the environment and the settings that keep ultralytics offline; returns the config dir used.

    Safe to call more than once; after ultralytics was imported only the settings part can still change."""
    config_dir = config_dir or default_config_dir()
    fonts_dir = config_dir / "Ultralytics"
    fonts_dir.mkdir(parents=True, exist_ok=True)
    ttf = _local_ttf()
    for name in FONTS:
        target = fonts_dir / name
        if not target.exists() and ttf is not None:
            shutil.copyfile(ttf, target)
    if "ultralytics" not in sys.modules:
        os.environ["YOLO_CONFIG_DIR"] = str(config_dir)
    os.environ.update(
        YOLO_OFFLINE="1",
        YOLO_AUTOINSTALL="False",  # else it pip-installs onnx or lap at run time
        YOLO_VERBOSE="False",
        CI="true",  # OpenVINO sends telemetry unless running under CI or opted out
    )
    from ultralytics.utils import SETTINGS

    if SETTINGS.get("sync"):
        SETTINGS.update(sync=False)
    return config_dir
