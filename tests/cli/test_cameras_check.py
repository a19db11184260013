"""``shopwatch cameras check`` probes every camera once, in parallel, and reports what each delivers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from shopwatch.cli.main import build_cli
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.faults import closed_port
from shopwatch.sim.rtsp_server import SimServer

pytestmark = pytest.mark.rtsp
SECRET = "Check-pw-123"


@pytest.fixture
def config(tmp_path: Path) -> Iterator[Path]:
    clip = generate_clip(ClipSpec("static", seconds=10), tmp_path / "clips")
    with SimServer() as sim:
        sim.add_camera("a", clip)
        sim.add_camera("b", clip, username="admin", password=SECRET)
        base = {"grid": "g1", "host": "127.0.0.1"}
        doc = {
            "service": {"data_dir": str(tmp_path / "data")},
            "ingest": {"open_timeout_s": 2, "read_timeout_s": 2, "stall_after_s": 1},
            "cameras": [
                {**base, "id": "a", "name": "A", "streams": {"detect": sim.url("a")}},
                {**base, "id": "b", "name": "B", "streams": {"detect": sim.url("b")},
                 "credentials": {"username": "admin", "password": SECRET}},
                {**base, "id": "dead", "name": "D", "streams": {"detect": f"rtsp://127.0.0.1:{closed_port()}/x"}},
                {**base, "id": "off", "name": "O", "enabled": False, "streams": {"detect": sim.url("a")}},
            ],
        }
        path = tmp_path / "cfg.yaml"
        path.write_text(yaml.safe_dump(doc))
        yield path


def test_check_prints_one_row_per_enabled_camera_and_fails_when_one_is_down(config: Path) -> None:
    result = CliRunner().invoke(build_cli(), ["cameras", "check", "-c", str(config), "--seconds", "2", "--json"])
    assert result.exit_code == 1, result.output
    rows = {r["id"]: r for r in map(json.loads, result.stdout.strip().splitlines()[:-1])}
    assert set(rows) == {"a", "b", "dead"}  # disabled cameras are not probed
    for cid in ("a", "b"):
        assert rows[cid]["state"] == "online" and rows[cid]["error"] is None
        assert (rows[cid]["codec"], rows[cid]["width"], rows[cid]["height"]) == ("h264", 640, 360)
        assert 10 <= rows[cid]["fps"] <= 14 and rows[cid]["kbit_per_s"] > 0
        assert rows[cid]["time_to_first_frame_s"] < 2.5
    assert rows["dead"]["state"] == "offline" and "refused" in rows["dead"]["error"].lower()
    assert "2 of 3 cameras deliver video" in result.stdout
    assert SECRET not in result.output


def test_check_table(config: Path) -> None:
    result = CliRunner().invoke(build_cli(), ["cameras", "check", "-c", str(config), "--seconds", "1"])
    assert result.exit_code == 1
    assert "640x360" in result.stdout and "h264" in result.stdout and "dead" in result.stdout
    assert SECRET not in result.output


def test_every_command_is_wired() -> None:
    result = CliRunner().invoke(build_cli(), ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "demo", "sim", "cameras"):
        assert command in result.stdout
    result = CliRunner().invoke(build_cli(), ["cameras", "--help"])
    for command in ("import", "list", "check"):
        assert command in result.stdout


def test_bad_config_exits_2_naming_key_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("ingest:\n  workers: -1\n")
    result = CliRunner().invoke(build_cli(), ["serve", "-c", str(path)])
    assert result.exit_code == 2
    assert "line 2: ingest.workers" in result.output
