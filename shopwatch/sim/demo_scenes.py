"""What the demo's busy cameras show: scenario clips (``shopwatch sim scenes``) with the zones and rules their
camera files give, so the demo's detection has card-posting visits and a loiterer to find, again on every loop.

Clips are written once into the demo's clips folder (a few seconds of CPU each) and reused. The demo's person
model is the config's ``detect.model`` when that path exists; without it the demo says so and runs the rules on
tracked motion blobs (the degraded mode a camera without a model gets), instead of refusing to start."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shopwatch.core.config import Settings
from shopwatch.core.detect_config import CameraDetection

SCENES = ("post_door_day", "post_shutter_night", "loiter_day", "post_wall_day_three")
SEED = 3


@dataclass(frozen=True)
class DemoScene:
    name: str
    clip: Path  # raw H.264 for the RTSP server
    detection: CameraDetection  # the scene's zones and rules


def scene_for(position: int) -> str:
    """The scene of the ``position``-th busy camera (1-based), cycling through ``SCENES``."""
    return SCENES[(position - 1) % len(SCENES)]


def demo_scene(name: str, clips_dir: Path) -> DemoScene:
    from shopwatch.core.detect_loader import load_camera_detection
    from shopwatch.sim.scenes import generate
    from shopwatch.sim.scenes.writer import annexb  # here: the scene package loads OpenCV

    out = clips_dir / "scenes"
    mp4, camera_file = out / f"{name}.mp4", out / f"{name}.camera.yaml"
    if not (mp4.exists() and camera_file.exists()):
        generate(out, SEED, names=(name,), workers=1)
    return DemoScene(name, annexb(mp4, out / f"{name}.h264"), load_camera_detection(camera_file))


def with_available_model(settings: Settings) -> tuple[Settings, str | None]:
    """``settings`` without ``detect.model`` when that path is missing, and a line saying so (else None)."""
    model = settings.detect.model
    if not model or Path(model).exists():
        return settings, None
    detect = settings.detect.model_copy(update={"model": None})
    note = f"no person model at {model}: detection runs on tracked motion blobs (degraded mode)"
    return settings.model_copy(update={"detect": detect}), note
