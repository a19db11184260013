"""``shopwatch analyze`` end to end: a video file and a CAMERA.yaml in, one JSON object per event out."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from shopwatch.cli.main import build_cli
from tests.models.handmade import posting_clip_frames, write_clip

CAMERA_YAML = """\
zones:
  - {name: shopfront, kind: surface, polygon: [[0.05, 0.10], [0.60, 0.10], [0.60, 0.75], [0.05, 0.75]]}
  - {name: sidewalk, kind: area, polygon: [[0.0, 0.6], [1.0, 0.6], [1.0, 1.0], [0.0, 1.0]]}
rules:
  card_posting: {zones: [shopfront]}
  loitering: {zones: [sidewalk], dwell_s: 60}
  intrusion: {zones: [sidewalk], hours: "22:00-06:00"}
"""


def test_a_card_posting_clip_in_degraded_mode_prints_the_event_as_json(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "post.mp4", posting_clip_frames())
    camera = tmp_path / "cam.yaml"
    camera.write_text(CAMERA_YAML)
    out = tmp_path / "snapshots"
    result = CliRunner().invoke(
        build_cli(),
        [
            "analyze",
            str(clip),
            "--camera-config",
            str(camera),
            "--start-time",
            "2025-03-01T12:00:00",
            "--json",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["type"] for line in lines] == ["card_posting"]
    event = lines[0]
    # walks in from 2 s (motion blobs need a few frames to become a track), leaves at ~5.5-6 s
    assert 2.0 <= event["start_s"] <= 4.0 and 5.0 <= event["end_s"] <= 7.0
    assert all(0 <= v <= 1 for v in event["box"]) and 0 < event["confidence"] <= 1
    [patch] = event["patches"]
    assert patch[0] < 0.336 and patch[2] > 0.32 and patch[1] < 0.47 and patch[3] > 0.45  # the card
    assert sorted(p.name for p in out.iterdir()) == [
        "001-card_posting-actor.jpg",
        "001-card_posting-after.jpg",
        "001-card_posting-before.jpg",
        "001-card_posting-patch1.jpg",  # the card magnified, before beside after
    ]
    assert "degraded" in result.stderr


def test_a_bad_camera_config_names_key_and_line(tmp_path: Path) -> None:
    camera = tmp_path / "cam.yaml"
    camera.write_text(CAMERA_YAML.replace("dwell_s: 60", "dwell_s: -5"))
    clip = tmp_path / "missing.mp4"
    result = CliRunner().invoke(build_cli(), ["analyze", str(clip), "--camera-config", str(camera)])
    assert result.exit_code == 2
    assert f"{camera}: line 6: rules.loitering.dwell_s" in result.stderr


def test_a_missing_model_is_a_clear_error(tmp_path: Path) -> None:
    clip = write_clip(tmp_path / "post.mp4", posting_clip_frames()[:12])
    camera = tmp_path / "cam.yaml"
    camera.write_text(CAMERA_YAML)
    result = CliRunner().invoke(
        build_cli(), ["analyze", str(clip), "--camera-config", str(camera), "--model", str(tmp_path / "yolo.pt")]
    )
    assert result.exit_code == 2
    assert f"person model not found: {tmp_path / 'yolo.pt'}" in result.stderr


def test_an_undecodable_file_is_a_clear_error_without_traceback(tmp_path: Path) -> None:
    camera = tmp_path / "cam.yaml"
    camera.write_text(CAMERA_YAML)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20)
    result = CliRunner().invoke(build_cli(), ["analyze", str(junk), "--camera-config", str(camera)])
    assert result.exit_code == 2
    assert f"cannot decode {junk}" in result.stderr and "Traceback" not in result.output + result.stderr


def test_a_truncated_file_says_where_it_stops_and_exits_non_zero(tmp_path: Path) -> None:
    """The moov atom first (as cameras and `-movflags +faststart` write it), then the media cut in the middle:
    the pictures before the cut are analysed, and the cut is reported."""
    import av

    whole = write_clip(tmp_path / "whole.mp4", posting_clip_frames()[:96])  # 8 s at 12 fps
    faststart = tmp_path / "faststart.mp4"
    with av.open(str(whole)) as source, av.open(str(faststart), "w", options={"movflags": "+faststart"}) as sink:
        out = sink.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = out
                sink.mux(packet)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(faststart.read_bytes()[: faststart.stat().st_size // 2])
    camera = tmp_path / "cam.yaml"
    camera.write_text(CAMERA_YAML)
    result = CliRunner().invoke(build_cli(), ["analyze", str(cut), "--camera-config", str(camera)])
    assert result.exit_code == 2
    assert "truncated?" in result.stderr and "of the 8.0 s the file declares" in result.stderr
    assert "Traceback" not in result.output + result.stderr
