"""Run the live pipeline on a video file, as fast as it decodes (``shopwatch analyze``, quality tests, benchmark).

Frames are taken at the live detection rate (``fps``) from the file's own timestamps; each frame's wall time is
``start`` plus its timestamp, and the injected clock is moved to that time before the frame is processed, so
every timing (dwell, hold, cooldown, intrusion hours, detection latency) is that of the file, not of the
machine analysing it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from shopwatch.core.clock import ManualClock
from shopwatch.core.detect_config import CameraDetection, DetectSettings
from shopwatch.core.errors import Invalid
from shopwatch.core.events import Event
from shopwatch.core.frame import Frame
from shopwatch.models.detector import PersonDetector
from shopwatch.models.pipeline import DetectionHealth, Pipeline

CAMERA_ID = "analyze"
TRUNCATED_SLACK_S = 1.0  # a file whose pictures stop this long before its declared duration was cut short


class VideoUnreadable(Invalid):
    """The video file cannot be decoded, or stops before its declared end (truncated)."""


@dataclass(frozen=True, slots=True)
class FileRun:
    events: list[Event]
    start: float  # wall time of the file's first frame
    frames: int  # frames processed
    duration_s: float
    health: DetectionHealth
    problem: str | None = None  # the file broke off here (truncated, corrupt): events before it are kept


def file_frames(path: Path, fps: float, start: float) -> Iterator[Frame]:
    """RGB frames of the file's first video stream at no more than ``fps``, timed from its first frame."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first: float | None = None
        next_t = 0.0
        seq = 0
        for picture in container.decode(stream):
            if picture.pts is None or picture.time_base is None:
                continue
            pts = float(picture.pts * picture.time_base)
            first = pts if first is None else first
            t = pts - first
            if t + 1e-6 < next_t:
                continue
            next_t = t + 1.0 / fps
            image = np.asarray(picture.to_ndarray(format="rgb24"), dtype=np.uint8)
            yield Frame(CAMERA_ID, image, pts_s=t, wall_time=start + t, keyframe=picture.key_frame, seq=seq)
            seq += 1
        declared = _declared_duration(container, stream)
        if first is None:
            raise VideoUnreadable(f"{path}: no picture could be decoded")
        if declared is not None and next_t - 1.0 / fps < declared - TRUNCATED_SLACK_S:
            raise VideoUnreadable(
                f"{path}: pictures stop at {next_t - 1.0 / fps:.1f} s of the {declared:.1f} s the file declares "
                "(truncated?)"
            )


def _declared_duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return container.duration / av.time_base if container.duration else None


def analyze_file(
    path: Path,
    camera: CameraDetection,
    settings: DetectSettings,
    detector: PersonDetector | None,
    start: float,
    fps: float,
) -> FileRun:
    clock = ManualClock(start=0.0, wall_start=start)
    pipeline = Pipeline(settings, detector, clock, fps)
    pipeline.set_camera(CAMERA_ID, camera)
    events: list[Event] = []
    frames = 0
    last_t = 0.0
    problem = None
    try:
        for frame in file_frames(path, fps, start):
            clock.advance(max(0.0, frame.pts_s - clock.monotonic()))
            events.extend(pipeline.process([frame]))
            frames += 1
            last_t = frame.pts_s
    except (av.error.FFmpegError, VideoUnreadable) as exc:
        if frames == 0:
            raise VideoUnreadable(f"cannot decode {path}: {exc}") from None
        problem = f"{exc} (after {last_t:.1f} s)" if isinstance(exc, av.error.FFmpegError) else str(exc)
    return FileRun(events, start, frames, last_t, pipeline.health()[0], problem)
