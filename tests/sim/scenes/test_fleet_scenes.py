"""Simulated cameras that play the scenario clips: the fleet serves them over RTSP as the scenes were written."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from typer.testing import CliRunner

from shopwatch.sim.fleet import FleetOptions, SimFleet
from shopwatch.sim.rtsp_server import SimServer
from tests.sim.conftest import PYAV_OPTIONS
from tests.sim.scenes.conftest import SAMPLE
from tests.sim.test_sim_cmd import cli

pytestmark = pytest.mark.rtsp


def test_cameras_cycle_through_the_scene_clips_and_serve_them(scenes_dir: Path, tmp_path: Path) -> None:
    fleet = SimFleet(FleetOptions(cameras=len(SAMPLE) + 1, scenes_dir=scenes_dir), tmp_path)
    names = sorted(SAMPLE)
    assert [fleet.label_of(cam) for cam in fleet.camera_ids] == [f"scene {n}" for n in [*names, names[0]]]
    assert names[1] in fleet.camera_config("cam-02", "127.0.0.1", 8554)["name"]
    with SimServer() as server:
        urls = fleet.mount(server)
        with av.open(urls["cam-02"], options=PYAV_OPTIONS, timeout=(10, 6)) as container:
            stream = container.streams.video[0]
            frame = next(container.decode(stream))
    assert (frame.width, frame.height) == (640, 360)
    assert fleet.clip_of("cam-01") == fleet.clip_of("cam-05")  # one remuxed file per clip, shared


def test_sim_refuses_a_directory_without_scenes(tmp_path: Path) -> None:
    args = ["sim", "--cameras", "2", "--clips-dir", str(tmp_path), "--scenes", str(tmp_path)]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 2 and "expected scenario clips" in result.output
