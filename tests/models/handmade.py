"""Hand-made frames and detections for rule tests: a textured shop front, a box-shaped actor, cards, posters.

No video and no model: the rules see exactly the observations a test writes, on an injected clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path

import numpy as np

from shopwatch.core.clock import ManualClock
from shopwatch.core.detections import Detections
from shopwatch.core.events import Box, Event
from shopwatch.core.frame import Frame
from shopwatch.models.rules.base import Observation, Rule

W, H = 640, 360
FPS = 6.0


def wall_texture(seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.zeros((H, W, 3), np.float32)
    base[:] = (150, 140, 120)
    base += np.linspace(-20, 20, W, dtype=np.float32)[None, :, None]
    base += rng.normal(0, 6, (H, W, 1)).astype(np.float32)  # fixed texture of the wall
    return base


@dataclass
class Scene:
    """A shop front seen at FPS frames per second; ``step`` draws one frame and feeds it to the rules."""

    rules: list[Rule]
    clock: ManualClock = field(default_factory=lambda: ManualClock(start=0.0, wall_start=1_800_000_000.0))
    background: np.ndarray = field(default_factory=wall_texture)
    noise: float = 3.0
    brightness: float = 1.0
    local_time: time = time(12, 0)
    stuck: list[tuple[Box, tuple[int, int, int]]] = field(default_factory=list)  # things on the wall
    events: list[Event] = field(default_factory=list)
    seq: int = 0
    _noise: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(1)  # a bank of sensor-noise frames, cycled (drawing each frame is slow)
        self._noise = [rng.normal(0, self.noise, (H, W, 3)).astype(np.float32) for _ in range(7)] if self.noise else []

    def step(self, actors: list[tuple[int, Box]] = (), score: float = 0.9) -> list[Event]:  # type: ignore[assignment]
        image = self.background * self.brightness
        for box, colour in self.stuck:
            x1, y1, x2, y2 = _px(box)
            image[y1:y2, x1:x2] = colour
        for _, box in actors:
            x1, y1, x2, y2 = _px(box)
            image[y1:y2, x1:x2] = (40, 50, 90)
        if self.noise:
            image += self._noise[self.seq % len(self._noise)]
        rgb = np.clip(image, 0, 255).astype(np.uint8)
        t = self.clock.wall()
        frame = Frame("cam-1", rgb, pts_s=self.clock.monotonic(), wall_time=t, keyframe=False, seq=self.seq)
        dets = Detections.build(
            [b for _, b in actors] or np.zeros((0, 4)), [score] * len(actors), None, [i for i, _ in actors]
        )
        obs = Observation(t, self.local_time, dets, frame, now=t)
        new = [e for rule in self.rules for e in rule.update(obs)]
        self.events.extend(new)
        self.seq += 1
        self.clock.advance(1 / FPS)
        return new

    def idle(self, seconds: float) -> None:
        for _ in range(round(seconds * FPS)):
            self.step()

    def walk(self, track: int, start: Box, end: Box, seconds: float) -> None:
        for box in path(start, end, seconds):
            self.step([(track, box)])

    def stand(self, track: int, box: Box, seconds: float) -> None:
        for _ in range(round(seconds * FPS)):
            self.step([(track, box)])


def path(start: Box, end: Box, seconds: float) -> Iterator[Box]:
    n = max(1, round(seconds * FPS))
    for i in range(n):
        f = i / max(1, n - 1)
        yield tuple(a + (b - a) * f for a, b in zip(start, end, strict=True))  # type: ignore[misc]


def _px(box: Box) -> tuple[int, int, int, int]:
    return int(box[0] * W), int(box[1] * H), int(box[2] * W), int(box[3] * H)


def person_at(x: float, height: float = 0.5, bottom: float = 0.85) -> Box:
    """A person box centred at x, ``height`` of the frame tall, feet at ``bottom``."""
    w = height * 0.4 * H / W
    return (x - w / 2, bottom - height, x + w / 2, bottom)


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 12) -> Path:
    """An H.264 MP4 of RGB frames (what a camera or ``shopwatch sim scenes`` would give ``analyze``)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": "18"})
        stream.width, stream.height, stream.pix_fmt = W, H, "yuv420p"
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def posting_clip_frames(fps: int = 12) -> list[np.ndarray]:
    """A dark figure walks to the shop front, stands 2 s, leaves a white card behind, walks off: 12 s."""
    base = np.clip(wall_texture(), 0, 255)
    frames = []
    plan = [(None, 2.0)] + [(b, 1 / fps) for b in path_at(person_at(0.9), person_at(0.3), 1.5, fps)]
    plan += [(person_at(0.3), 2.0)] + [(b, 1 / fps) for b in path_at(person_at(0.3), person_at(-0.2), 1.5, fps)]
    plan += [(None, 6.0)]
    card = False
    for box, seconds in plan:
        for _ in range(max(1, round(seconds * fps))):
            image = base.copy()
            if card:
                x1, y1, x2, y2 = _px((0.32, 0.45, 0.336, 0.47))
                image[y1:y2, x1:x2] = (250, 250, 245)
            if box is not None:
                x1, y1, x2, y2 = _px(box)
                image[max(0, y1) : y2, max(0, x1) : max(0, x2)] = (40, 50, 90)
            frames.append(image.astype(np.uint8))
        if box == person_at(0.3) and seconds == 2.0:
            card = True
    return frames


def path_at(start: Box, end: Box, seconds: float, fps: int) -> Iterator[Box]:
    n = max(1, round(seconds * fps))
    for i in range(n):
        f = i / max(1, n - 1)
        yield tuple(a + (b - a) * f for a, b in zip(start, end, strict=True))  # type: ignore[misc]
