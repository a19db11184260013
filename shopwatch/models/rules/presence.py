"""Who is inside an area zone, since when: the shared core of loitering and intrusion.

A person counts as inside when their feet (bottom-centre of the box) are in the polygon. Detection gaps up to
``max_gap_s`` keep a stay alive; when the tracker gives a returning person a new id, a stay lost nearby within
that gap is handed over to it, so an occlusion does not restart the dwell."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shopwatch.core.events import Box
from shopwatch.core.frame import Frame
from shopwatch.models.rules.base import Observation, as_box
from shopwatch.models.zones import ZoneShape

HANDOVER_HEIGHTS = 1.0  # a new id this close (in person heights) to a lost stay is the same person
PATH_POINTS = 64  # boxes kept of an actor's path


@dataclass
class Stay:
    track_id: int
    first_t: float
    last_t: float
    feet: tuple[float, float]
    height: float
    best_box: Box
    best_score: float
    best_frame: Frame
    score_sum: float = 0.0
    samples: int = 0
    path: list[Box] = field(default_factory=list)
    fired: bool = False

    @property
    def duration(self) -> float:
        return self.last_t - self.first_t

    @property
    def mean_score(self) -> float:
        return self.score_sum / max(1, self.samples)

    def see(self, t: float, box: Box, score: float, frame: Frame) -> None:
        self.last_t = t
        self.feet = ((box[0] + box[2]) / 2, box[3])
        self.height = box[3] - box[1]
        self.score_sum += score
        self.samples += 1
        if score >= self.best_score:
            self.best_box, self.best_score, self.best_frame = box, score, frame
        if len(self.path) < PATH_POINTS:
            self.path.append(box)


class Presence:
    def __init__(self, zone: ZoneShape, min_confidence: float, max_gap_s: float) -> None:
        self.zone = zone
        self._min_confidence = min_confidence
        self._max_gap_s = max_gap_s
        self._stays: dict[int, Stay] = {}

    def update(self, obs: Observation) -> list[Stay]:
        """The stays of the people inside the zone in this frame."""
        actors = obs.actors
        keep = (actors.scores >= self._min_confidence) & self.zone.contains(actors.feet)
        present: list[Stay] = []
        for row, score, track_id in zip(actors.boxes[keep], actors.scores[keep], actors.track_ids[keep], strict=True):
            box, tid = as_box(row), int(track_id)
            stay = self._stays.get(tid) or self._handover(tid, box, obs.t)
            if stay is None:
                stay = Stay(tid, obs.t, obs.t, (0.0, 0.0), 0.0, box, float(score), obs.frame)
                self._stays[tid] = stay
            stay.see(obs.t, box, float(score), obs.frame)
            present.append(stay)
        self._stays = {tid: s for tid, s in self._stays.items() if obs.t - s.last_t <= self._max_gap_s}
        return present

    def _handover(self, track_id: int, box: Box, t: float) -> Stay | None:
        feet = np.array([(box[0] + box[2]) / 2, box[3]])
        best: Stay | None = None
        best_distance = float("inf")
        for stay in self._stays.values():
            if stay.last_t >= t or t - stay.last_t > self._max_gap_s:
                continue  # seen in this frame (another person) or lost for too long
            distance = float(np.hypot(*(feet - np.array(stay.feet)))) / max(stay.height, 1e-3)
            if distance <= HANDOVER_HEIGHTS and distance < best_distance:
                best, best_distance = stay, distance
        if best is not None:
            del self._stays[best.track_id]
            best.track_id = track_id
            self._stays[track_id] = best
        return best
