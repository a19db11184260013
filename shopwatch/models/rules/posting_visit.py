"""One visit of the ``card_posting`` rule: a tracked actor in contact with a surface zone, from the first contact
to the verdict. It keeps the "before" picture, the actor's path and best picture, tells a stop from a walk (the
slower side of the box and the feet, over ``SPEED_WINDOW_S``) and grows the touched part while the actor is stopped.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from shopwatch.core.events import Box
from shopwatch.core.frame import Frame
from shopwatch.models.surface import Before, Image

SPEED_WINDOW_S = 0.5  # speed is measured over this much of the actor's path
TOUCH_MARGIN = 0.1  # of the actor's height added around the touched part (arm's reach beyond the box)
PATH_POINTS = 64
CUT = 0.03  # of the frame: a box side this close to the frame's side may be cut by it (someone coming in)
AFTER_FRAMES = 6  # frames averaged (at most) into the "after" picture of the touched part
HANDOVER_HEIGHTS = 0.5  # a new track this close (in actor heights) to a lost visit's actor continues the visit


def grown(box: Box, margin: float) -> Box:
    m = margin * (box[3] - box[1])
    return (box[0] - m, box[1] - m, box[2] + m, box[3] + m)


@dataclass
class Visit:
    track_id: int
    first_t: float
    before: Before
    last_contact_t: float
    best_box: Box
    best_score: float
    best_frame: Frame
    scores: list[float] = field(default_factory=list)
    heights: list[float] = field(default_factory=list)
    edges: deque[tuple[float, Box]] = field(default_factory=lambda: deque(maxlen=32))
    path: list[Box] = field(default_factory=list)
    stop_since: float | None = None
    stopped_s: float = 0.0
    touched: Box | None = None
    left_t: float | None = None  # set when the actor left: the visit is being verified
    patches_since: float | None = None
    after: Image | None = None  # per-pixel mean of the touched part over the last frames it was in view
    seen: np.ndarray | None = None  # per pixel: frames in that mean (up to AFTER_FRAMES)
    long_after: Image | None = None  # the same over up to faint_card.LONG_FRAMES frames (the faint-card cue)
    long_seen: np.ndarray | None = None
    hidden: np.ndarray | None = None  # per pixel of the surface: hidden by someone in front of it during the visit

    def hold_still(self, t: float) -> None:
        """The actor is still there but not detected: time passes as a stop at the last place."""
        self.last_contact_t = t
        if self.stop_since is None:
            self.stop_since = self.edges[-1][0] if self.edges else t
        self.stopped_s = max(self.stopped_s, t - self.stop_since)
        self.edges.clear()  # the next detection starts a fresh speed window
        if self.touched is None and self.path:
            self.touched = grown(self.path[-1], TOUCH_MARGIN)

    def see(self, t: float, box: Box, score: float, frame: Frame, stop_speed: float) -> None:
        self.last_contact_t = t
        height = box[3] - box[1]
        self.scores.append(score)
        self.heights.append(height)
        if score >= self.best_score:
            self.best_box, self.best_score, self.best_frame = box, score, frame
        if len(self.path) < PATH_POINTS:
            self.path.append(box)
        self.edges.append((t, box))
        while len(self.edges) > 2 and t - self.edges[1][0] >= SPEED_WINDOW_S:
            self.edges.popleft()
        t0, b0 = self.edges[0]
        if t - t0 < SPEED_WINDOW_S * 0.6:
            return  # not enough path yet to tell a stop from a walk
        # Reaching out moves one side of the box, walking moves both: the slower side and the feet tell a stop.
        # A side cut by the frame edge does not move with the actor: only the sides inside the frame count.
        sides = [abs(box[0] - b0[0])] if min(box[0], b0[0]) > CUT else []
        sides += [abs(box[2] - b0[2])] if max(box[2], b0[2]) < 1.0 - CUT else []
        if not sides:
            return  # cut on both sides: nothing tells its speed
        dx = min(sides)
        speed = float(np.hypot(dx, box[3] - b0[3])) / max(height, 1e-3) / (t - t0)
        if speed >= stop_speed:
            self.stop_since = None
            return
        self.stop_since = t0 if self.stop_since is None else self.stop_since
        self.stopped_s = max(self.stopped_s, t - self.stop_since)
        reach = grown(box, TOUCH_MARGIN)
        t_ = self.touched
        self.touched = (
            reach
            if t_ is None
            else (min(t_[0], reach[0]), min(t_[1], reach[1]), max(t_[2], reach[2]), max(t_[3], reach[3]))
        )


def handover(visits: dict[int, Visit], track_id: int, box: Box, t: float, max_gap_s: float) -> Visit | None:
    """A visit whose actor was lost within ``max_gap_s`` where this new track appears: the same actor, given a new
    id by the tracker after a detection gap."""
    height = box[3] - box[1]
    for old_id, visit in visits.items():
        last = visit.path[-1] if visit.path else visit.best_box
        near = abs((last[0] + last[2]) / 2 - (box[0] + box[2]) / 2) < HANDOVER_HEIGHTS * height
        if visit.left_t is None and visit.last_contact_t < t and t - visit.last_contact_t <= max_gap_s and near:
            del visits[old_id]
            visit.track_id = track_id
            visits[track_id] = visit
            return visit
    return None
