"""``shopwatch sim scenes`` through Typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from tests.sim.test_sim_cmd import cli


def test_scenes_writes_the_chosen_clips_and_lists_them(tmp_path: Path) -> None:
    out = tmp_path / "scenes"
    args = ["sim", "scenes", "--out", str(out), "--seed", "3", "--only", "post_quick_wall_day", "--workers", "1"]
    result = CliRunner().invoke(cli(), args)
    assert result.exit_code == 0, result.output
    assert "post_quick_wall_day" in result.output and "card_posting" in result.output
    assert "1 clips written" in result.output
    assert sorted(p.name for p in out.iterdir()) == [
        "post_quick_wall_day.camera.yaml",
        "post_quick_wall_day.json",
        "post_quick_wall_day.mp4",
    ]
    assert json.loads((out / "post_quick_wall_day.json").read_text())["seed"] == 3


def test_unknown_scene_names_are_refused(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli(), ["sim", "scenes", "--out", str(tmp_path), "--only", "dance_party"])
    assert result.exit_code == 2 and "unknown scene" in result.output
    assert not list(tmp_path.iterdir())
