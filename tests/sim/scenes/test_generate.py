"""The files a scene set is made of: H.264 like a camera substream, camera zones and rules, deterministic bytes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import av
import pytest
import yaml
from av.video.frame import PictureType

from shopwatch.sim.scenes import SCENE_NAMES, generate
from tests.sim.scenes.conftest import SAMPLE


def test_every_clip_has_video_zones_and_truth(scenes_dir: Path, truths: dict[str, dict[str, Any]]) -> None:
    for name in SAMPLE:
        assert {p.name for p in scenes_dir.glob(f"{name}.*")} == {f"{name}.mp4", f"{name}.json", f"{name}.camera.yaml"}
        camera = yaml.safe_load((scenes_dir / f"{name}.camera.yaml").read_text())
        zone_names = {zone["name"] for zone in camera["zones"]}
        assert {"door", "shutter", "wall", "forecourt", "sidewalk"} <= zone_names
        for rule in camera["rules"].values():
            assert set(rule["zones"]) <= zone_names
        truth = truths[name]
        assert (truth["name"], truth["fps"], truth["width"], truth["height"]) == (name, 12, 640, 360)
        assert 10 <= truth["duration_s"] <= 40


def test_clips_are_h264_360p12_with_a_fixed_gop_and_no_b_frames(
    scenes_dir: Path, truths: dict[str, dict[str, Any]]
) -> None:
    name = SAMPLE[0]
    with av.open(str(scenes_dir / f"{name}.mp4")) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.name, stream.codec_context.width, stream.codec_context.height) == (
            "h264",
            640,
            360,
        )
        assert stream.average_rate == 12
        frames = list(container.decode(stream))
    assert len(frames) == round(truths[name]["duration_s"] * 12)
    assert [i for i, f in enumerate(frames) if f.key_frame] == list(range(0, len(frames), 24))
    assert not [f for f in frames if f.pict_type == PictureType.B]


def test_the_same_seed_gives_the_same_bytes(tmp_path: Path) -> None:
    names = ["post_quick_wall_day"]
    first = generate(tmp_path / "a", 5, names=names, workers=1)
    second = generate(tmp_path / "b", 5, names=names, workers=1)
    other = generate(tmp_path / "c", 6, names=names, workers=1)
    assert [p.name for p in first] == ["post_quick_wall_day.json"]
    for suffix in (".mp4", ".json", ".camera.yaml"):
        a = (tmp_path / "a" / f"post_quick_wall_day{suffix}").read_bytes()
        assert a == (tmp_path / "b" / f"post_quick_wall_day{suffix}").read_bytes()
    assert (tmp_path / "a" / "post_quick_wall_day.mp4").read_bytes() != (
        tmp_path / "c" / "post_quick_wall_day.mp4"
    ).read_bytes()
    assert second[0].parent.name == "b" and other[0].parent.name == "c"
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]  # no temporary files left


def test_unknown_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown scene names \\['dance_party'\\]"):
        generate(tmp_path, 1, names=["post_door_day", "dance_party"])
    assert not tmp_path.joinpath("post_door_day.mp4").exists()
    assert "post_door_day" in SCENE_NAMES
