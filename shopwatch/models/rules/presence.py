"""Who is inside an area zone, since when: the shared core of loitering and intrusion.

A person counts as inside when their feet (bottom-centre of the box) are in the polygon. Detection gaps up to
``max_gap_s`` keep a stay alive; when the tracker gives a returning person a new id, a stay lost nearby within
that gap is handed over to it, so an occlusion does not restart the dwell; and when it swaps two people's ids
as one walks past the other, their stays are swapped back (``crossing``)."""

from __future__ import annotations

from collections import deque
from collections.abc import Container
from dataclasses import dataclass, field

import numpy as np

from shopwatch.core.events import Box
from shopwatch.core.frame import Frame
from shopwatch.models.rules.base import Observation, as_box
from shopwatch.models.rules.crossing import TRACE_POINTS, Crossings
from shopwatch.models.zones import ZoneShape

HANDOVER_HEIGHTS = 1.0  # a new id this close (in person heights) to a lost stay is the same person
EDGE = 0.005  # of the frame: a stay lost with its box this close to the left or right side walked out of view
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
    trace: deque[tuple[float, float, float]] = field(default_factory=lambda: deque(maxlen=TRACE_POINTS))
    last_box: Box | None = None

    @property
    def duration(self) -> float:
        return self.last_t - self.first_t

    @property
    def mean_score(self) -> float:
        return self.score_sum / max(1, self.samples)

    @property
    def walked_out(self) -> bool:
        """Last seen at the frame's left or right side: gone from view, not hidden (someone coming in there
        later is someone else)."""
        box = self.last_box or self.best_box
        return box[0] <= EDGE or box[2] >= 1.0 - EDGE

    def see(self, t: float, box: Box, score: float, frame: Frame) -> None:
        self.last_t, self.last_box = t, box
        self.feet = ((box[0] + box[2]) / 2, box[3])
        self.trace.append((t, *self.feet))
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
        self._crossings: Crossings[Stay] = Crossings()

    def update(self, obs: Observation) -> list[Stay]:
        """The stays of the people inside the zone in this frame."""
        actors = obs.actors
        keep = (actors.scores >= self._min_confidence) & self.zone.contains(actors.feet)
        seen: dict[int, tuple[Box, float]] = {}
        here = {int(t) for t in actors.track_ids[keep]}  # ids of this frame: their stays are not handed over
        for row, score, track_id in zip(actors.boxes[keep], actors.scores[keep], actors.track_ids[keep], strict=True):
            box, tid = as_box(row), int(track_id)
            if tid not in self._stays and self._handover(tid, box, obs.t, here) is None:
                self._stays[tid] = Stay(tid, obs.t, obs.t, (0.0, 0.0), 0.0, box, float(score), obs.frame)
            seen[tid] = (box, float(score))
        for a, b in self._crossings.update(obs.t, {tid: (self._stays[tid], box) for tid, (box, _) in seen.items()}):
            a.track_id, b.track_id = b.track_id, a.track_id
            self._stays[a.track_id], self._stays[b.track_id] = a, b
        present: list[Stay] = []
        for tid, (box, score) in seen.items():
            stay = self._stays[tid]
            stay.see(obs.t, box, score, obs.frame)
            present.append(stay)
        self._stays = {tid: s for tid, s in self._stays.items() if obs.t - s.last_t <= self._max_gap_s}
        return present

    def _handover(self, track_id: int, box: Box, t: float, seen: Container[int]) -> Stay | None:
        feet = np.array([(box[0] + box[2]) / 2, box[3]])
        best: Stay | None = None
        best_distance = float("inf")
        for stay in self._stays.values():
            if stay.track_id in seen or t - stay.last_t > self._max_gap_s or stay.walked_out:
                continue  # seen in this frame (another person), lost for too long, or gone out of view
            distance = float(np.hypot(*(feet - np.array(stay.feet)))) / max(stay.height, 1e-3)
            if distance <= HANDOVER_HEIGHTS and distance < best_distance:
                best, best_distance = stay, distance
        if best is not None:
            del self._stays[best.track_id]
            best.track_id = track_id
            self._stays[track_id] = best
        return best
