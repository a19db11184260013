"""The one detection model every detection stage speaks: a column per field, validated on construction.

Boxes are normalized ``x1, y1, x2, y2`` in 0-1 of the frame, so zones (also normalized) and rules never care
about a camera's resolution. ``track_ids`` is -1 until the tracker assigns ids. Stages return new records and
never mutate their input (after supervision's ``Detections``)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Boxes = npt.NDArray[np.float32]  # N x 4, normalized xyxy
NO_TRACK = -1
MOTION_CLASS = -1  # class id of a tracked motion blob (degraded mode, no person model)


@dataclass(frozen=True, eq=False)
class Detections:
    boxes: Boxes
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int32]
    track_ids: npt.NDArray[np.int64]

    def __post_init__(self) -> None:
        n = self.boxes.shape[0]
        if self.boxes.ndim != 2 or self.boxes.shape[1] != 4:
            raise ValueError(f"expected N x 4 boxes, found shape {self.boxes.shape}")
        for name in ("scores", "class_ids", "track_ids"):
            column = getattr(self, name)
            if column.shape != (n,):
                raise ValueError(f"expected {name} of shape ({n},), found {column.shape}")
        for column in (self.boxes, self.scores, self.class_ids, self.track_ids):
            column.flags.writeable = False

    @classmethod
    def build(
        cls,
        boxes: npt.ArrayLike,
        scores: npt.ArrayLike,
        class_ids: npt.ArrayLike | None = None,
        track_ids: npt.ArrayLike | None = None,
    ) -> Detections:
        b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        n = b.shape[0]
        s = np.asarray(scores, dtype=np.float32).reshape(n)
        c = np.zeros(n, np.int32) if class_ids is None else np.asarray(class_ids, dtype=np.int32).reshape(n)
        t = np.full(n, NO_TRACK, np.int64) if track_ids is None else np.asarray(track_ids, np.int64).reshape(n)
        return cls(np.clip(b, 0.0, 1.0), s, c, t)

    @classmethod
    def empty(cls) -> Detections:
        return cls.build(np.zeros((0, 4)), np.zeros(0))

    def __len__(self) -> int:
        return int(self.boxes.shape[0])

    def select(self, keep: npt.NDArray[np.bool_] | npt.NDArray[np.intp]) -> Detections:
        return Detections(
            self.boxes[keep].copy(), self.scores[keep].copy(), self.class_ids[keep].copy(), self.track_ids[keep].copy()
        )

    @property
    def heights(self) -> npt.NDArray[np.float32]:
        return self.boxes[:, 3] - self.boxes[:, 1]

    @property
    def feet(self) -> npt.NDArray[np.float32]:
        """Bottom-centre point of each box: where a person stands on the ground plane."""
        return np.stack([(self.boxes[:, 0] + self.boxes[:, 2]) / 2, self.boxes[:, 3]], axis=1)


def ious(box: tuple[float, float, float, float], boxes: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Intersection over union of one normalized xyxy box with each of ``boxes`` (N x 4)."""
    b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    w = np.clip(np.minimum(b[:, 2], box[2]) - np.maximum(b[:, 0], box[0]), 0, None)
    h = np.clip(np.minimum(b[:, 3], box[3]) - np.maximum(b[:, 1], box[1]), 0, None)
    inter = w * h
    union = (box[2] - box[0]) * (box[3] - box[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)
