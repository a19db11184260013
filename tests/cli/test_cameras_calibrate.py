"""``shopwatch cameras calibrate``: against a simulated RTSP camera (the service's reading path) and a video file;
a person walking past during it is skipped, not measured as noise; an offline, unknown or zone-less camera is
named with the reason, exits non-zero and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sqlalchemy import create_engine
from typer.testing import CliRunner

from shopwatch.cli.main import build_cli
from shopwatch.core.learnt import Learnt
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.faults import closed_port
from shopwatch.sim.rtsp_server import SimServer
from shopwatch.store.learnt import LearntRepository
from tests.models.handmade import H, W, person_at, wall_texture, write_clip

SECRET = "Calib-pw-123"
DETECTION = {
    "zones": [
        {"name": "noisy", "kind": "surface", "polygon": [[0.05, 0.1], [0.45, 0.1], [0.45, 0.7], [0.05, 0.7]]},
        {"name": "calm", "kind": "surface", "polygon": [[0.55, 0.1], [0.95, 0.1], [0.95, 0.7], [0.55, 0.7]]},
    ],
    "rules": {"card_posting": {"zones": ["noisy", "calm"]}},
}


def write_config(tmp_path: Path, cameras: list[dict[str, Any]]) -> Path:
    doc = {
        "service": {"data_dir": str(tmp_path / "data")},
        "ingest": {"open_timeout_s": 2, "read_timeout_s": 2, "stall_after_s": 1},
        "cameras": [{"grid": "g1", "host": "127.0.0.1", "name": c["id"], **c} for c in cameras],
    }
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def stored(tmp_path: Path, camera_id: str) -> Learnt:
    engine = create_engine(f"sqlite:///{tmp_path / 'data' / 'shopwatch.db'}")
    try:
        return LearntRepository(engine).of(camera_id)
    finally:
        engine.dispose()


def calibrate(config: Path, *args: str) -> Any:
    return CliRunner().invoke(build_cli(), ["cameras", "calibrate", *args, "-c", str(config)])


def noisy_clip(path: Path, walker: bool, seconds: float = 12.0, fps: int = 12) -> Path:
    """The left half of a wall flickers (sensor noise, sigma 8), the right half is steady; with ``walker`` a dark
    figure crosses the right half from 4 s to 7 s."""
    base = wall_texture()
    rng = np.random.default_rng(5)
    frames = []
    n = round(seconds * fps)
    for i in range(n):
        image = base.copy()
        image[:, : W // 2] += rng.normal(0, 8, (H, W // 2, 1)).astype(np.float32)
        t = i / fps
        if walker and 4.0 <= t < 7.0:
            x = 1.0 - (t - 4.0) / 3.0 * 0.5
            x1, y1, x2, y2 = person_at(x, height=0.7, bottom=0.8)
            image[int(y1 * H) : int(y2 * H), max(0, int(x1 * W)) : int(x2 * W)] = (40, 50, 90)
        frames.append(np.clip(image, 0, 255).astype(np.uint8))
    return write_clip(path, frames, fps)


def test_a_video_file_gives_each_zone_its_own_noise_and_a_passer_by_is_skipped(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"id": "shop-1", "detection": DETECTION}])
    quiet = calibrate(config, "shop-1", "--video", str(noisy_clip(tmp_path / "quiet.mp4", walker=False)))
    assert quiet.exit_code == 0, quiet.output
    alone = {c.zone: c for c in stored(tmp_path, "shop-1").calibrations}

    result = calibrate(config, "shop-1", "--video", str(noisy_clip(tmp_path / "walk.mp4", walker=True)))
    assert result.exit_code == 0, result.output
    assert "zone calm (day, luma" in result.stdout and "stored" in result.stdout
    learnt = stored(tmp_path, "shop-1")
    cal = {c.zone: c for c in learnt.calibrations}
    assert set(cal) == {"noisy", "calm"}  # the second run replaced the first (same zones, same band)
    assert cal["noisy"].noise_median > 3 * max(cal["calm"].noise_median, 0.5)  # each zone its own noise
    assert cal["noisy"].suggested_diff_threshold > cal["calm"].suggested_diff_threshold
    assert cal["calm"].skipped >= 3 * 6 and cal["noisy"].skipped < cal["calm"].skipped  # the walk: skipped
    # what was measured is the wall's flicker, not the walker: as without them
    assert cal["calm"].noise_p90 == pytest.approx(alone["calm"].noise_p90, abs=0.5)
    assert learnt.calibration_label() != "default"


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SimServer]:
    clip = generate_clip(ClipSpec("static", seconds=10), tmp_path / "clips")
    with SimServer() as server:
        server.add_camera("a", clip, username="admin", password=SECRET)
        yield server


@pytest.mark.rtsp
def test_a_live_simulated_camera_is_calibrated_through_the_reading_path(tmp_path: Path, sim: SimServer) -> None:
    config = write_config(tmp_path, [
        {"id": "live", "streams": {"detect": sim.url("a")}, "credentials": {"username": "admin", "password": SECRET},
         "detection": DETECTION},
    ])  # fmt: skip
    result = calibrate(config, "live", "--minutes", "0.15")
    assert result.exit_code == 0, result.output
    cal = {c.zone: c for c in stored(tmp_path, "live").calibrations}
    assert set(cal) == {"noisy", "calm"}
    assert all((c.frame_width, c.frame_height) == (640, 360) and c.frames >= 30 for c in cal.values())
    assert SECRET not in result.output


@pytest.mark.rtsp
def test_an_offline_camera_is_named_with_the_reason_and_nothing_is_written(tmp_path: Path) -> None:
    dead = f"rtsp://admin:{SECRET}@127.0.0.1:{closed_port()}/x"
    config = write_config(tmp_path, [{"id": "dead", "streams": {"detect": dead}, "detection": DETECTION}])
    result = calibrate(config, "dead", "--minutes", "0.2")
    assert result.exit_code == 1
    assert "camera dead: cannot calibrate" in result.stderr and "refused" in result.stderr.lower()
    assert "nothing was written" in result.stderr and SECRET not in result.output
    assert "Traceback" not in result.output
    assert stored(tmp_path, "dead") == Learnt()


@pytest.mark.parametrize(
    ("camera", "args", "said"),
    [
        ({"id": "shop-1", "detection": DETECTION}, ["nope"], "no camera 'nope'"),
        ({"id": "shop-1"}, ["shop-1"], "no surface zone"),
    ],
)
def test_an_unknown_or_zone_less_camera_is_refused(
    tmp_path: Path, camera: dict[str, Any], args: list[str], said: str
) -> None:
    config = write_config(tmp_path, [camera])
    clip = noisy_clip(tmp_path / "q.mp4", walker=False, seconds=2)
    result = calibrate(config, *args, "--video", str(clip))
    assert result.exit_code == 2 and said in result.stderr and "nothing was written" in result.stderr
    assert stored(tmp_path, "shop-1") == Learnt()


def test_a_zone_never_quiet_is_named_and_nothing_is_written(tmp_path: Path) -> None:
    config = write_config(tmp_path, [{"id": "shop-1", "detection": DETECTION}])
    result = calibrate(config, "shop-1", "--video", str(noisy_clip(tmp_path / "short.mp4", walker=False, seconds=3)))
    assert result.exit_code == 2
    assert "zone 'noisy' was quiet in" in result.stderr and "nothing was written" in result.stderr
    assert stored(tmp_path, "shop-1") == Learnt()
