"""Track ids that stay stable across short occlusions: ByteTrack (``models.bytetrack``, ultralytics' algorithm
without importing ultralytics, so a reader worker stays free of torch) behind a ``Detections`` door.

ByteTrack counts in frames; the camera's nominal fps turns ``track_lost_s`` into its buffer. One tracker per
camera (ids are per tracker)."""

from __future__ import annotations

import numpy as np

from shopwatch.core.detections import Detections
from shopwatch.models.bytetrack import ByteTrack

SCALE = 1000.0  # ByteTrack works in pixels; IoU does not care about the scale, the Kalman noise model does a little


class Tracker:
    def __init__(self, fps: float, lost_s: float, low_conf: float, conf: float) -> None:
        self._tracker = ByteTrack(
            high=conf, low=min(low_conf, conf), new=conf, buffer=max(1, round(fps * lost_s)), match=0.8
        )
        self._best: dict[int, float] = {}  # best detection score of each live track

    def update(self, detections: Detections) -> Detections:
        """The tracked objects of this frame, with their ids; boxes are the tracker's (smoothed) boxes, scores the
        best detection score of each track so far (a person half-hidden while reaching is still that person)."""
        b = detections.boxes.astype(np.float32) * SCALE
        xywh = np.stack([(b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2, b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]], 1)
        out = self._tracker.update(xywh.reshape(-1, 4), detections.scores, detections.class_ids)
        if len(out) == 0:
            self._best.clear()
            return Detections.empty()
        ids = out[:, 4].astype(np.int64)
        best = {int(i): max(float(s), self._best.get(int(i), 0.0)) for i, s in zip(ids, out[:, 5], strict=True)}
        self._best = best  # tracks not output any more are forgotten (a lost track that returns starts over)
        return Detections.build(out[:, 0:4] / SCALE, [best[int(i)] for i in ids], out[:, 6], ids)
