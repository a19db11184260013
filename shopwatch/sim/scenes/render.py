"""Turn a scene into RGB frames, and record where every person was drawn in each one.

Per frame: the facade (with the items stuck on it so far) under the lighting of that moment, shadows cast
across it from outside the picture (``Sweep``: a passing lorry, a swaying branch), then bicycles and people from
the farthest to the nearest (each lit by the light where they stand, with a soft shadow by day and, under a low
sun, their own soft shadow on the wall behind them), then rain and sensor grain. A person's box is measured on
the pixels actually drawn, so the ground truth is exact. The clip is encoded at the scene's ``crf``.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import cv2
import numpy as np
import numpy.typing as npt

from shopwatch.sim.scenes import figure, props, script
from shopwatch.sim.scenes.shopfront import HEIGHT, WIDTH, Lighting, Shopfront

FloatImage = npt.NDArray[np.float32]
FPS = 12
CRF = 23  # the simulated cameras' default (shopwatch.sim.clips); real substreams run 25-30
_COVERED = 0.3  # a pixel belongs to the person's box when the figure covers at least this much of it


@dataclass(frozen=True)
class Sweep:
    """A soft-edged shadow band cast from outside the picture (a lorry passing in the low sun, a branch) that
    crosses the facade from ``x0`` to ``x1`` (its centre, pixels) between ``t0`` and ``t1``, ``width`` pixels wide,
    taking ``depth`` of the light (0-1) from the wall above ``base_y``."""

    t0: float
    t1: float
    x0: float
    x1: float
    width: float
    depth: float
    base_y: int
    slant: float = 0.3  # horizontal shift of the band per pixel up (a shadow falls at an angle)

    def mask(self, t: float) -> FloatImage | None:
        if not self.t0 <= t < self.t1:
            return None
        k = (t - self.t0) / (self.t1 - self.t0)
        centre = self.x0 + (self.x1 - self.x0) * k
        ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
        along = xs - centre - (self.base_y - ys) * self.slant
        soft = max(2.0, self.width * 0.15)  # penumbra: the band's edges fade over this many pixels
        inside = np.clip((self.width / 2 - np.abs(along)) / soft + 0.5, 0.0, 1.0)
        inside[self.base_y :] = 0.0
        return (inside * self.depth).astype(np.float32)


@dataclass(frozen=True)
class Scene:
    """Everything needed to render one clip and write its ground truth."""

    name: str
    seconds: float
    front: Shopfront
    lighting: tuple[tuple[float, Lighting], ...]  # (from second, lighting), sorted; the first from 0
    actors: tuple[script.Actor, ...]
    start_time: datetime
    tags: tuple[str, ...]
    rules: dict[str, dict[str, object]]
    day: bool = True  # soft shadows under people by day
    grain: float = 2.0  # sensor noise, grey levels
    rain_drops: int = 0
    facade_items: tuple[tuple[float, props.Item], ...] = ()  # items already there or appearing without actor
    crf: int = CRF  # x264 constant quality: higher is coarser (blocking, smeared edges, flicker on text)
    wall_shadow: tuple[float, float] | None = None  # low sun: a person's shadow on the wall, offset (x, y) in heights
    sweeps: tuple[Sweep, ...] = ()  # shadows crossing the facade with nobody in the picture casting them

    @property
    def frame_count(self) -> int:
        return round(self.seconds * FPS)


@dataclass(frozen=True)
class Drawn:
    """Where an actor was drawn in one frame: box in pixels (clipped to the picture) and whether all of the
    figure is inside the picture."""

    box: tuple[float, float, float, float]
    inside: bool


def render(scene: Scene, seed: int) -> Iterator[tuple[npt.NDArray[np.uint8], list[Drawn | None]]]:
    """Frames of ``scene`` (RGB uint8) with, per actor, where it was drawn (None when absent)."""
    view = scene.front.view
    plans = [script.plan(actor, view) for actor in scene.actors]
    items = sorted(list(scene.facade_items) + [pi for p in plans for pi in script.placements(p)], key=lambda x: x[0])
    rng = np.random.default_rng([seed, 7])
    cache: dict[tuple[int, int], FloatImage] = {}
    for index in range(scene.frame_count):
        t = index / FPS
        light_index = max(i for i, (from_s, _) in enumerate(scene.lighting) if from_s <= t)
        shown = sum(1 for when, _ in items if when <= t)
        key = (light_index, shown)
        if key not in cache:
            cache.clear()
            cache[key] = _lit_facade(scene.front, scene.lighting[light_index][1], [it for _, it in items[:shown]])
        frame = cache[key].copy()
        lighting = scene.lighting[light_index][1]
        for sweep in scene.sweeps:
            shade = sweep.mask(t)
            if shade is not None:
                frame *= (1.0 - shade)[..., None]
        drawn: list[Drawn | None] = [None] * len(plans)
        for _, kind, i in sorted(_depth_order(plans, t, view)):
            if kind == "bicycle":
                bike = script.bicycle_state(plans[i], t, view)
                assert bike is not None
                props.draw_bicycle(frame, bike.wheels_y, bike.x, bike.facing, view.px_per_m(bike.wheels_y))
            else:
                state = script.actor_state(plans[i], t, view)
                assert state is not None
                drawn[i] = _draw_person(
                    frame, plans[i].actor.appearance, state, lighting, daylight=scene.day, wall=_wall(scene, state)
                )
        if scene.rain_drops:
            props.rain(frame, rng, scene.rain_drops)
        grain = rng.standard_normal((HEIGHT // 2, WIDTH // 2), dtype=np.float32) * scene.grain
        frame += np.repeat(np.repeat(grain, 2, axis=0), 2, axis=1)[..., None]
        yield np.clip(frame, 0, 255).astype(np.uint8), drawn


def _depth_order(plans: list[script.Plan], t: float, view: object) -> list[tuple[float, str, int]]:
    """(feet row, kind, actor index) of everything to draw; a bicycle is drawn just behind its actor."""
    out: list[tuple[float, str, int]] = []
    for i, p in enumerate(plans):
        state = script.actor_state(p, t, view)  # type: ignore[arg-type]
        if state is not None:
            out.append((state.feet[1], "person", i))
        bike = script.bicycle_state(p, t, view)  # type: ignore[arg-type]
        if bike is not None:
            out.append((bike.wheels_y + 2.5, "bicycle", i))
    return out


def _lit_facade(front: Shopfront, lighting: Lighting, items: list[props.Item]) -> FloatImage:
    albedo = front.albedo.copy()
    for item in items:
        props.paint(albedo, item)
    return albedo * lighting.gain + lighting.glow


def _wall(scene: Scene, state: script.ActorState) -> tuple[float, float, int] | None:
    """Where a low sun throws this person's shadow on the wall: (dx, dy) pixels and the wall's foot row; None when
    there is no low sun or they stand too far from the facade for their shadow to reach it (the sidewalk)."""
    view = scene.front.view
    if scene.wall_shadow is None or state.feet[1] >= view.forecourt[1]:
        return None
    dx, dy = scene.wall_shadow
    return (dx * state.height_px, dy * state.height_px, view.wall_base_y)


def _draw_person(
    frame: FloatImage,
    appearance: figure.Appearance,
    state: script.ActorState,
    lighting: Lighting,
    daylight: bool,
    wall: tuple[float, float, int] | None = None,
) -> Drawn | None:
    px_per_m = state.height_px / appearance.height_m
    sprite = figure.render(appearance, state.pose, px_per_m)
    fx, fy = state.feet
    x0, y0 = int(math.floor(fx)) - sprite.anchor[0], int(math.floor(fy)) - sprite.anchor[1]
    probe_x = min(WIDTH - 1, max(0, int(fx)))
    probe_y = min(HEIGHT - 1, max(0, int(fy - state.height_px * 0.6)))
    light = lighting.gain[probe_y, probe_x]
    if daylight:
        _shadow(frame, state)
    h, w = sprite.alpha.shape
    if wall is not None:
        _wall_shadow(frame, sprite.alpha, (x0, y0), wall, state.height_px)
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(WIDTH, x0 + w), min(HEIGHT, y0 + h)
    if fx0 >= fx1 or fy0 >= fy1:
        return None  # walked out of the picture
    alpha = sprite.alpha[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0]
    rgb = sprite.rgb[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0] * light
    region = frame[fy0:fy1, fx0:fx1]
    region *= 1.0 - alpha[..., None]
    region += rgb
    cx, cy, cw, ch = cv2.boundingRect((sprite.alpha >= _COVERED).astype(np.uint8))
    bx0, by0, bx1, by1 = x0 + cx, y0 + cy, x0 + cx + cw, y0 + cy + ch
    inside = bx0 >= 0 and by0 >= 0 and bx1 <= WIDTH and by1 <= HEIGHT
    if min(WIDTH, bx1) - max(0, bx0) < 2:
        return None
    box = (float(max(0, bx0)), float(max(0, by0)), float(min(WIDTH, bx1)), float(min(HEIGHT, by1)))
    return Drawn(box, bool(inside))


def _shadow(frame: FloatImage, state: script.ActorState) -> None:
    """A soft contact shadow under the feet, stretched away from the light."""
    fx, fy = state.feet
    w, h = state.height_px * 0.28, state.height_px * 0.05
    x0, x1 = int(max(0, fx - w * 1.5)), int(min(WIDTH, fx + w * 1.5))
    y0, y1 = int(max(0, fy - h * 2)), int(min(HEIGHT, fy + h * 2))
    if x0 >= x1 or y0 >= y1:
        return
    mask = np.zeros((y1 - y0, x1 - x0), dtype=np.float32)
    cv2.ellipse(mask, (int(fx + w * 0.3) - x0, int(fy) - y0), (int(w), max(1, int(h))), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), max(1.0, h * 0.6)).astype(np.float32)
    frame[y0:y1, x0:x1] *= (1.0 - 0.35 * mask)[..., None]


def _wall_shadow(
    frame: FloatImage, alpha: FloatImage, at: tuple[int, int], wall: tuple[float, float, int], height_px: float
) -> None:
    """The person's silhouette, shifted by the sun's offset and blurred (a soft penumbra that grows with the
    distance to the wall), darkening the wall above its foot row: it moves with them and goes when they go."""
    dx, dy, base_y = wall
    x0, y0 = at[0] + int(round(dx)), at[1] + int(round(dy))
    h, w = alpha.shape
    pad = int(height_px * 0.06) + 2
    fx0, fy0 = max(0, x0 - pad), max(0, y0 - pad)
    fx1, fy1 = min(WIDTH, x0 + w + pad), min(base_y, HEIGHT, y0 + h + pad)
    if fx0 >= fx1 or fy0 >= fy1:
        return
    canvas = np.zeros((h + 2 * pad, w + 2 * pad), dtype=np.float32)
    canvas[pad : pad + h, pad : pad + w] = alpha
    canvas = cv2.GaussianBlur(canvas, (0, 0), max(1.0, height_px * 0.015))
    part = canvas[fy0 - (y0 - pad) : fy1 - (y0 - pad), fx0 - (x0 - pad) : fx1 - (x0 - pad)]
    frame[fy0:fy1, fx0:fx1] *= (1.0 - 0.45 * part)[..., None]
