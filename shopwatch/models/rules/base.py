"""What every rule sees of a frame, and the snapshot helpers rules share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from typing import Protocol

import numpy as np

from shopwatch.core.detections import Detections
from shopwatch.core.events import Box, Event
from shopwatch.core.frame import Frame, Rgb
from shopwatch.core.jpeg import encode_jpeg

SNAPSHOT_QUALITY = 85
CROP_MARGIN = 0.35  # context around an actor's box in its snapshot, as a fraction of the box size


@dataclass(frozen=True, slots=True)
class Observation:
    """One frame of one camera, as the rules see it."""

    t: float  # wall time of the frame (epoch seconds): all rule timing uses this
    local_time: time  # camera-local time of day of the frame (intrusion hours)
    actors: Detections  # tracked people (or motion blobs in degraded mode), normalized boxes, with track ids
    frame: Frame
    now: float  # wall time of processing, from the pipeline's clock (event ``detected_at``)
    moving: Detections = field(default_factory=Detections.empty)  # motion blobs: someone may be there undetected


class Rule(Protocol):
    def update(self, obs: Observation) -> list[Event]: ...


def as_box(row: np.ndarray) -> Box:
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def crop(image: Rgb, box: Box, margin: float = 0.0) -> Rgb:
    """The normalized ``box`` (grown by ``margin`` of its size on each side) cut out of ``image``."""
    h, w = image.shape[:2]
    bw, bh = box[2] - box[0], box[3] - box[1]
    x1 = int(max(0.0, box[0] - margin * bw) * w)
    y1 = int(max(0.0, box[1] - margin * bh) * h)
    x2 = max(x1 + 1, int(np.ceil(min(1.0, box[2] + margin * bw) * w)))
    y2 = max(y1 + 1, int(np.ceil(min(1.0, box[3] + margin * bh) * h)))
    return image[y1:y2, x1:x2]


def actor_snapshot(frame: Frame, box: Box) -> bytes:
    return encode_jpeg(np.ascontiguousarray(crop(frame.image, box, CROP_MARGIN)), SNAPSHOT_QUALITY)


def jpeg(image: Rgb) -> bytes:
    return encode_jpeg(np.ascontiguousarray(image), SNAPSHOT_QUALITY)
