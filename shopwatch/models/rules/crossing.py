"""Undoing the tracker's identity swaps when two people cross.

When one person walks past another who stands still, their boxes merge for a few frames and an IoU tracker
(ByteTrack) often hands the stander's id to the walker: the stander's dwell then walks off with the walker, and
the stander starts over under a fresh id. A ``Crossing`` is opened when two tracked people's boxes meet; it
remembers where each was heading just before (feet position and velocity). When the boxes are apart again (or
after ``MAX_CROSSING_S``), each person's position is predicted from that motion and compared with where the two
ids are now: if the ids fit much better the other way round, the caller swaps what it keeps per person."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from shopwatch.core.detections import ious
from shopwatch.core.events import Box

MEET_IOU = 0.1  # boxes overlapping this much: the tracker may mix the two up
MAX_CROSSING_S = 3.0  # two people still together after this long are judged where they are
SWAP_RATIO = 0.5  # swapped only when that fits at least twice as well as the tracker's ids ...
MIN_GAIN_HEIGHTS = 0.2  # ... and better by this much, in person heights (two still people: no swap)
TRACE_POINTS = 8  # feet positions kept per person (~1.3 s at 6 fps) for the velocity before a meeting


class Traced(Protocol):
    track_id: int
    height: float
    trace: deque[tuple[float, float, float]]  # (t, feet x, feet y), newest last


T = TypeVar("T", bound=Traced)


@dataclass(frozen=True, slots=True)
class Motion:
    t: float
    x: float
    y: float
    vx: float
    vy: float

    @staticmethod
    def of(person: Traced) -> Motion:
        t1, x1, y1 = person.trace[-1]
        t0, x0, y0 = person.trace[0]
        dt = t1 - t0
        if dt <= 0:
            return Motion(t1, x1, y1, 0.0, 0.0)
        return Motion(t1, x1, y1, (x1 - x0) / dt, (y1 - y0) / dt)

    def at(self, t: float) -> tuple[float, float]:
        return self.x + self.vx * (t - self.t), self.y + self.vy * (t - self.t)


@dataclass(slots=True)
class Crossing(Generic[T]):
    a: T
    b: T
    since: float
    a_before: Motion
    b_before: Motion

    def swapped(self, t: float, a_feet: tuple[float, float], b_feet: tuple[float, float]) -> bool:
        """Whether the two ids now fit the people's earlier motion better the other way round."""
        pa, pb = self.a_before.at(t), self.b_before.at(t)
        scale = max(1e-3, (self.a.height + self.b.height) / 2)
        keep = (_dist(pa, a_feet) + _dist(pb, b_feet)) / scale
        swap = (_dist(pa, b_feet) + _dist(pb, a_feet)) / scale
        return swap < keep * SWAP_RATIO and keep - swap >= MIN_GAIN_HEIGHTS


def iou(a: Box, b: Box) -> float:
    return float(ious(a, [b])[0])


def feet(box: Box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, box[3]


def _dist(p: tuple[float, float], q: tuple[float, float]) -> float:
    return float(((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) ** 0.5)


class Crossings(Generic[T]):
    """The open crossings of one zone's people."""

    def __init__(self) -> None:
        self._open: list[Crossing[T]] = []

    def update(self, t: float, seen: dict[int, tuple[T, Box]]) -> list[tuple[T, T]]:
        """``seen``: this frame's boxes by track id, with the person each id had until now (before this frame
        was added to their trace). Returns the pairs whose ids should be swapped, and opens new crossings."""
        swaps: list[tuple[T, T]] = []
        still: list[Crossing[T]] = []
        boxes = {id(person): box for person, box in seen.values()}
        for crossing in self._open:
            a_box, b_box = boxes.get(id(crossing.a)), boxes.get(id(crossing.b))
            if a_box is None or b_box is None:  # one is not seen now: wait, within the limit
                if t - crossing.since <= MAX_CROSSING_S:
                    still.append(crossing)
                continue
            if iou(a_box, b_box) > 0.0 and t - crossing.since <= MAX_CROSSING_S:
                still.append(crossing)
                continue
            if crossing.swapped(t, feet(a_box), feet(b_box)):
                swaps.append((crossing.a, crossing.b))
        self._open = still
        crossing_ids = {id(p) for c in still for p in (c.a, c.b)}
        people = [(p, box) for p, box in seen.values() if p.trace and id(p) not in crossing_ids]
        for i, (a, a_box) in enumerate(people):
            for b, b_box in people[i + 1 :]:
                if id(a) in crossing_ids or id(b) in crossing_ids:
                    continue
                if iou(a_box, b_box) >= MEET_IOU:
                    self._open.append(Crossing(a, b, t, Motion.of(a), Motion.of(b)))
                    crossing_ids |= {id(a), id(b)}
        return swaps
