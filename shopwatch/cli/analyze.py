"""``shopwatch analyze``: the live detection pipeline on a video file, as fast as it decodes.

How an operator tunes a camera's zones (``--camera-config`` is that camera's zones and rules) and how the
detector's quality is measured (``--json``: one object per event, times in seconds from the file's start)."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer

from shopwatch.cli.common import ConfigOption, err_console, settings_or_exit
from shopwatch.core.detect_config import CameraDetection
from shopwatch.core.errors import ConfigError
from shopwatch.core.events import Event


def analyze(
    video: Annotated[Path, typer.Argument(help="Video file (any container and codec FFmpeg reads).")],
    camera_config: Annotated[Path, typer.Option("--camera-config", help="CAMERA.yaml: the camera's zones and rules.")],
    model: Annotated[
        str | None, typer.Option(help="Person model (file or OpenVINO folder); default: detect.model of --config.")
    ] = None,
    start_time: Annotated[
        str | None,
        typer.Option(help="Wall time of the first frame, ISO 8601 (camera-local when no offset); default: now."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per event and line.")] = False,
    out: Annotated[Path | None, typer.Option(help="Write each event's JPEG snapshots into this folder.")] = None,
    fps: Annotated[
        float | None,
        typer.Option(min=0.1, max=60, help="Frames per second analysed; default: ingest.activity.detect_fps."),
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Run detection on a video file and print one line per event."""
    from shopwatch.core.detect_loader import load_camera_detection
    from shopwatch.models.detector import ModelUnavailable, YoloDetector
    from shopwatch.models.video_file import VideoUnreadable, analyze_file

    settings = settings_or_exit(config)
    try:
        camera = load_camera_detection(camera_config)
    except ConfigError as exc:
        err_console.print(f"invalid camera config: {exc}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    if not video.is_file():
        err_console.print(f"no such video file: {video}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)
    start = _start_of(start_time, camera)
    model_path = model or settings.detect.model
    detector = None
    if model_path is not None and camera.person_detection:
        try:
            detector = YoloDetector(settings.detect, model_path)
        except ModelUnavailable as exc:
            err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
    else:
        err_console.print("no person model: rules run on tracked motion blobs (degraded mode)", highlight=False)
    began = time.perf_counter()
    try:
        run = analyze_file(video, camera, settings.detect, detector, start, fps or settings.ingest.activity.detect_fps)
    except VideoUnreadable as exc:  # a file FFmpeg cannot read is the user's input, not a crash
        err_console.print(str(exc), markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    for index, event in enumerate(run.events, 1):
        snapshots = _write_snapshots(out, index, event) if out is not None else []
        line = _line(event, run.start, snapshots)
        typer.echo(json.dumps(line) if as_json else _text(line))
    elapsed = time.perf_counter() - began
    err_console.print(
        f"{len(run.events)} event(s); {run.frames} frames of {run.duration_s:.1f} s analysed in {elapsed:.1f} s"
        f" (detector on {run.health.detected}, mode {run.health.mode})",
        highlight=False,
    )
    if run.problem is not None:
        err_console.print(f"error: {run.problem}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2)


def _start_of(value: str | None, camera: CameraDetection) -> float:
    if value is None:
        return time.time()
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"expected ISO 8601 like 2025-03-01T23:15:00, found {value!r}", param_hint="--start-time"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(camera.timezone)) if camera.timezone else parsed.astimezone()
    return parsed.timestamp()


def _line(event: Event, start: float, snapshots: list[str]) -> dict[str, Any]:
    line: dict[str, Any] = {
        "type": event.type.value,
        "start_s": round(event.start - start, 2),
        "end_s": round(event.end - start, 2),
        "box": [round(v, 4) for v in event.box],
        "confidence": round(event.confidence, 3),
    }
    if event.evidence is not None:
        line["patches"] = [[round(v, 4) for v in p] for p in event.evidence.patches]
    line["zone"] = event.zone
    line["track_id"] = event.track_id
    line["detected_s"] = round(event.detected_at - start, 2)
    if snapshots:
        line["snapshots"] = snapshots
    return line


def _text(line: dict[str, Any]) -> str:
    box = ", ".join(f"{v:.3f}" for v in line["box"])
    text = (
        f"{line['start_s']:8.2f} s - {line['end_s']:8.2f} s  {line['type']:<13} zone {line['zone']}"
        f"  confidence {line['confidence']:.2f}  box [{box}]"
    )
    if "patches" in line:
        text += f"  {len(line['patches'])} patch(es)"
    return text + "".join(f"  {p}" for p in line.get("snapshots", []))


def _write_snapshots(out: Path, index: int, event: Event) -> list[str]:
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, data in sorted(event.snapshots.items()):
        path = out / f"{index:03d}-{event.type.value}-{name}.jpg"
        path.write_bytes(data)
        paths.append(str(path))
    return paths


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
