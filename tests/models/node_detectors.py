"""Person detectors for node-detector tests that need no model: built inside the detector process by pickled
factories (spawned: they must be importable top-level classes)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from shopwatch.core.detections import Detections
from shopwatch.core.frame import Rgb


class MeanLeft:
    """One 'person' per image, its left edge at the image's mean brightness (0-1): answers can be told apart."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s

    def detect(self, images: Sequence[Rgb]) -> list[Detections]:
        if self.delay_s:
            time.sleep(self.delay_s * len(images))  # stands in for inference time
        return [Detections.build([[float(image.mean()) / 255 / 2, 0.2, 0.9, 0.9]], [0.9]) for image in images]
