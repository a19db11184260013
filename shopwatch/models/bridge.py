"""Keeping a person the detector lost while their motion goes on where they were heading.

At night, turned away, or with an arm up against a door, a person detector can miss someone for seconds while
the motion stage still sees them move. ByteTrack then drops the track and the rules lose the actor exactly
during the stop that matters. ``MotionBridge`` carries such a track on person-sized motion: a track lost at most
``MAX_GAP_S`` ago is predicted forward (its last velocity); a motion blob at that place, at least
``MIN_BLOB_HEIGHT`` of the person's height, keeps it (same id, same score, the person's box centred on the
blob, feet where they were). It ends when no blob supports it for ``MAX_GAP_S``, or when the detector finds
someone there again (the tracker's track takes over). Sans-IO: boxes in, boxes out, times from the caller."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shopwatch.core.detections import Detections, ious
from shopwatch.core.events import Box

MAX_GAP_S = 1.0  # without detection or blob this long, the person is gone
MAX_BRIDGE_S = 60.0  # a track is not carried on motion alone longer than this
MIN_BLOB_HEIGHT = 0.3  # of the person's height: an arm reaching, not a leaf or rain
MIN_X_OVERLAP = 0.5  # of the blob's width inside the predicted box
MAX_BLOB_WIDTH = 1.5  # of the person's width: a wider blob is motion smeared over frames, not where they are
MIN_DETECTIONS = 3  # a track seen fewer times has no motion to go by (and may be a false start)
VELOCITY_SMOOTHING = 0.5  # weight of the newest step in the velocity estimate
TAKEN_IOU = 0.3  # a detected person overlapping a carried one this much: the detector has them again


@dataclass(slots=True)
class _Person:
    box: Box
    score: float
    class_id: int
    t: float  # last support (detection or blob)
    vx: float = 0.0  # normalized units per second, while detected
    detected_t: float = 0.0  # last detection
    detections: int = 1
    bridged: bool = False

    def predicted(self, t: float) -> Box:
        if self.bridged:
            return self.box  # on motion: where the blob was
        dx = self.vx * min(t - self.t, MAX_GAP_S)
        return (self.box[0] + dx, self.box[1], self.box[2] + dx, self.box[3])


class MotionBridge:
    def __init__(self) -> None:
        self._people: dict[int, _Person] = {}

    def update(self, t: float, actors: Detections, blobs: Detections) -> Detections:
        """This frame's tracked people (``actors``, with ids) plus the lost ones carried on ``blobs``."""
        seen = set()
        for box_row, score, class_id, track_id in zip(
            actors.boxes, actors.scores, actors.class_ids, actors.track_ids, strict=True
        ):
            tid, box = int(track_id), _box(box_row)
            seen.add(tid)
            known = self._people.get(tid)
            vx = 0.0
            if known is not None and not known.bridged and t > known.t:
                step = ((box[0] + box[2]) - (known.box[0] + known.box[2])) / 2 / (t - known.t)
                vx = VELOCITY_SMOOTHING * step + (1 - VELOCITY_SMOOTHING) * known.vx
            count = known.detections + 1 if known is not None else 1
            self._people[tid] = _Person(box, float(score), int(class_id), t, vx, t, count)
        carried: list[tuple[int, _Person]] = []
        used: set[int] = set()
        for tid, person in list(self._people.items()):
            if tid in seen:
                continue
            if t - person.t > MAX_GAP_S or t - person.detected_t > MAX_BRIDGE_S:
                del self._people[tid]
                continue
            if person.detections < MIN_DETECTIONS:
                continue
            guess = person.predicted(t)
            if len(actors) and ious(guess, actors.boxes).max() >= TAKEN_IOU:
                del self._people[tid]  # detected again, under the tracker's id
                continue
            blob = _supporting_blob(guess, blobs, used)
            if blob is None:
                continue  # not seen now; may come back within MAX_GAP_S
            used.add(blob)
            b = blobs.boxes[blob]
            half = (guess[2] - guess[0]) / 2
            cx = float(b[0] + b[2]) / 2
            person.box = (cx - half, guess[1], cx + half, guess[3])
            person.t, person.bridged = t, True
            carried.append((tid, person))
        if not carried:
            return actors
        extra = Detections.build(
            [p.box for _, p in carried], [p.score for _, p in carried], [p.class_id for _, p in carried],
            [tid for tid, _ in carried],
        )  # fmt: skip
        return Detections(
            np.concatenate([actors.boxes, extra.boxes]),
            np.concatenate([actors.scores, extra.scores]),
            np.concatenate([actors.class_ids, extra.class_ids]),
            np.concatenate([actors.track_ids, extra.track_ids]),
        )


def _box(row: np.ndarray) -> Box:
    return (float(row[0]), float(row[1]), float(row[2]), float(row[3]))


def _supporting_blob(guess: Box, blobs: Detections, used: set[int]) -> int | None:
    height, width = guess[3] - guess[1], guess[2] - guess[0]
    best, best_overlap = None, 0.0
    for i, b in enumerate(blobs.boxes):
        if i in used or (b[3] - b[1]) < MIN_BLOB_HEIGHT * height or (b[2] - b[0]) > MAX_BLOB_WIDTH * width:
            continue
        if b[3] < guess[1] or b[1] > guess[3]:
            continue  # above or below the person
        width = max(float(b[2] - b[0]), 1e-6)
        overlap = max(0.0, min(float(b[2]), guess[2]) - max(float(b[0]), guess[0])) / width
        if overlap >= MIN_X_OVERLAP and overlap > best_overlap:
            best, best_overlap = i, overlap
    return best
