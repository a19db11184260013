"""The one frame model handed from ingest to detection."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True, slots=True)
class Frame:
    camera_id: str
    image: npt.NDArray[np.uint8]  # H x W x 3, RGB
    pts_s: float  # presentation time in the stream, seconds
    wall_time: float  # wall clock when decoded
    keyframe: bool
    seq: int  # decoded frame counter of this camera's current connection

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
