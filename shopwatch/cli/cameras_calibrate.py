"""``shopwatch cameras calibrate CAMERA``: measure a camera's noise per surface zone while nothing happens there,
and store it for the service's detector (``models.calibration``, ``store.learnt``).

Watches the live camera through the service's own reading path (``ingest.sample``) or a video file of it
(``--video``). A camera that cannot be read, an unknown camera, a camera without surface zones or a zone never
quiet long enough: the command says which and why, exits non-zero and writes nothing."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import Engine

from shopwatch.cli.common import ConfigOption, migrated_database, settings_or_exit
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.errors import DeviceError, Invalid
from shopwatch.core.frame import Frame
from shopwatch.core.learnt import ZoneCalibration

EXIT_CAMERA = 1  # the camera could not be read (offline, refused, no stream); the database failing is 1 too
EXIT_INVALID = 2  # unknown camera, nothing to calibrate, an unreadable file


def _camera(settings: Settings, engine: Engine, camera_id: str) -> CameraConfig:
    from shopwatch.camera_source import merge_cameras, registry_cameras
    from shopwatch.store.cameras import CameraRepository

    cameras = {c.id: c for c in merge_cameras(settings.cameras, registry_cameras(CameraRepository(engine), os.environ))}
    if camera_id not in cameras:
        typer.echo(f"no camera {camera_id!r} in the config file or the registry; nothing was written", err=True)
        raise typer.Exit(EXIT_INVALID)
    return cameras[camera_id]


def _frames(settings: Settings, camera: CameraConfig, video: Path | None, seconds: float) -> Iterator[Frame]:
    fps = settings.ingest.activity.detect_fps
    if video is None:
        from shopwatch.ingest.sample import sample_frames

        yield from sample_frames(camera, settings.ingest, seconds, fps)
        return
    from shopwatch.models.video_file import file_frames

    for frame in file_frames(video, fps, time.time()):
        if frame.pts_s > seconds:
            return
        yield frame


def _describe(camera: CameraConfig, cal: ZoneCalibration) -> str:
    rule = camera.detection.rules.card_posting
    used = max(rule.diff_threshold, cal.suggested_diff_threshold) if rule is not None else None
    configured = f" (configured {rule.diff_threshold}; the detector uses {used})" if rule is not None else ""
    return (
        f"camera {camera.id}: zone {cal.zone} ({cal.band}, luma {cal.luma:.0f}): noise median {cal.noise_median:.1f}, "
        f"p90 {cal.noise_p90:.1f} grey levels over {cal.frames} quiet frames ({cal.skipped} skipped); "
        f"its noise needs diff_threshold >= {cal.suggested_diff_threshold}{configured}"
    )


def calibrate(
    camera_id: Annotated[str, typer.Argument(help="Id of the camera (config file or registry).")],
    minutes: Annotated[float, typer.Option(min=0.1, max=120, help="How long to watch.")] = 2.0,
    video: Annotated[
        Path | None, typer.Option(help="Measure on this recording of the camera instead of its live stream.")
    ] = None,
    config: ConfigOption = None,
) -> None:
    """Measure CAMERA's noise per surface zone while nothing happens and store it for the detector."""
    import av

    from shopwatch.models.calibration import Calibrator
    from shopwatch.models.detector import YoloDetector
    from shopwatch.models.video_file import VideoUnreadable
    from shopwatch.store.learnt import LearntRepository

    settings = settings_or_exit(config)
    with migrated_database(settings) as engine:  # a database that cannot be used: said, status 1
        camera = _camera(settings, engine, camera_id)
        try:
            detector = YoloDetector(settings.detect, settings.detect.model) if settings.detect.model else None
            calibrator = Calibrator(camera.detection, settings.detect.motion, detector)
            for frame in _frames(settings, camera, video, minutes * 60):
                calibrator.update(frame)
            results = calibrator.results(datetime.now(UTC))
        except DeviceError as exc:
            typer.echo(f"camera {camera.id}: cannot calibrate: {exc}; nothing was written", err=True)
            raise typer.Exit(EXIT_CAMERA) from None
        except (Invalid, VideoUnreadable, av.error.FFmpegError, OSError) as exc:
            typer.echo(f"camera {camera.id}: cannot calibrate: {exc}; nothing was written", err=True)
            raise typer.Exit(EXIT_INVALID) from None
        LearntRepository(engine).save_calibrations(camera.id, results)
    for cal in results:
        typer.echo(_describe(camera, cal))
    typer.echo(f"stored: the service starts camera {camera.id}'s detection from this calibration")


def register(cameras_app: typer.Typer) -> None:
    cameras_app.command()(calibrate)
