"""People of the scenes and what they come to do: pass by, post cards, stop, lean beside a surface, stand
still at one for a minute, pass between the camera and the facade, loiter, intrude, hang a poster, park a
bicycle. Each builder returns a ``script.Actor`` placed on the shop front it is given.

Lanes keep the ground truth unambiguous: passers-by and loiterers keep their feet in the sidewalk zone, well
clear of the forecourt; anyone who goes to the facade crosses the forecourt (which is what after-hours
intrusion means); nobody but a loiterer stays on the sidewalk for long.
"""

from __future__ import annotations

import numpy as np

from shopwatch.sim.scenes import props
from shopwatch.sim.scenes.figure import Appearance, Point
from shopwatch.sim.scenes.script import Actor, PickUp, PutDown, Reach, Stand, Step, Walk
from shopwatch.sim.scenes.shopfront import WIDTH, Shopfront

_SKIN = [(232, 190, 160), (214, 170, 135), (190, 140, 105), (150, 105, 75), (110, 75, 55)]
_HAIR = [(25, 20, 18), (45, 32, 25), (80, 55, 35), (120, 110, 100), (15, 15, 15)]
_TOPS = [
    (40, 60, 120), (170, 35, 40), (30, 30, 35), (220, 220, 215), (60, 110, 70), (200, 160, 60),
    (110, 70, 130), (90, 90, 95), (230, 120, 40), (150, 180, 210),
]  # fmt: skip
_BOTTOMS = [(45, 60, 95), (30, 30, 35), (150, 135, 105), (85, 85, 90), (60, 45, 35)]
_SHOES = [(20, 20, 20), (230, 230, 230), (90, 60, 40), (40, 40, 60)]


def person(rng: np.random.Generator, *, day: bool = True, height_m: float | None = None) -> Appearance:
    def pick(palette: list[tuple[int, int, int]]) -> tuple[float, float, float]:
        r, g, b = palette[int(rng.integers(len(palette)))]
        return (float(r), float(g), float(b))

    return Appearance(
        height_m=height_m if height_m is not None else float(rng.uniform(1.55, 1.9)),
        skin=pick(_SKIN),
        hair=pick(_HAIR),
        top=pick(_TOPS),
        bottom=pick(_BOTTOMS),
        shoes=pick(_SHOES),
        short_sleeves=bool(day and rng.random() < 0.4),
        build=float(rng.uniform(0.92, 1.12)),
    )


def _lane(front: Shopfront, rng: np.random.Generator) -> float:
    """A feet row on the sidewalk, clear of the zone's edges."""
    top, bottom = front.view.sidewalk
    return float(rng.uniform(top + 12, bottom - 10))


def _offscreen(front: Shopfront, app: Appearance, y: float, side: int) -> Point:
    """A feet point just outside the picture on the left (side -1) or right (side +1)."""
    half = 0.45 * app.height_m * front.view.px_per_m(y)
    return (-half if side < 0 else WIDTH + half, y)


def _wall_row(front: Shopfront) -> float:
    """Feet row of someone standing at the facade (inside the forecourt)."""
    return front.view.wall_base_y + 0.12 * front.view.wall_px_per_m


def walker(front: Shopfront, rng: np.random.Generator, start_s: float, *, day: bool, side: int = -1) -> Actor:
    """Someone passing along the sidewalk from ``side`` to the other side, at their own pace."""
    app = person(rng, day=day)
    y = _lane(front, rng)
    speed = float(rng.uniform(1.1, 1.6))
    return Actor(app, _offscreen(front, app, y, side), start_s, (Walk(_offscreen(front, app, y, -side), speed),))


def between(front: Shopfront, rng: np.random.Generator, x: float, at_s: float, *, day: bool, side: int = -1) -> Actor:
    """Someone walking along the shop front close to it, between the camera and the facade (feet in the
    forecourt, in front of anyone standing at the wall), who passes image column ``x`` at ``at_s``."""
    app = person(rng, day=day)
    top, bottom = front.view.forecourt
    y = float(top + (bottom - top) * rng.uniform(0.6, 0.8))
    speed = float(rng.uniform(1.2, 1.5))
    start = _offscreen(front, app, y, side)
    lead_s = abs(x - start[0]) / front.view.px_per_m(y) / speed
    return Actor(app, start, at_s - lead_s, (Walk(_offscreen(front, app, y, -side), speed),))


def leaner(
    front: Shopfront, rng: np.random.Generator, start_s: float, surface: str, *, stay_s: float, side: int
) -> Actor:
    """Stands beside ``surface`` with a hand flat on its edge (waiting, reading a phone) for ``stay_s``, so their
    box and arm overlap it; leaves nothing."""
    app = person(rng)
    x0, _, x1, _ = front.surface(surface).box
    wall_y = _wall_row(front)
    height_px = app.height_m * front.view.px_per_m(wall_y)
    right = side > 0  # beside the right edge, else the left
    feet_x = x1 + 0.12 * height_px if right else x0 - 0.12 * height_px
    hand = (x1 - 0.05 * height_px if right else x0 + 0.05 * height_px, wall_y - 0.7 * height_px)
    lane = _lane(front, rng)
    steps: tuple[Step, ...] = (
        Walk((feet_x, wall_y), 1.2),
        Stand(float(rng.uniform(0.8, 1.5)), "front"),
        Reach(stay_s, (hand, None) if right else (None, hand)),
        Stand(float(rng.uniform(0.5, 1.0)), "front"),
        Walk(_offscreen(front, app, lane, side), 1.3),
    )
    return Actor(app, _offscreen(front, app, lane, -side), start_s, steps)


def still_stander(
    front: Shopfront, rng: np.random.Generator, start_s: float, surface: str, *, stay_s: float, side: int
) -> Actor:
    """Walks up to ``surface`` and stands still in front of it for ``stay_s`` (reading a notice, waiting for the
    shop to open), touching it once in the middle; leaves nothing."""
    app = person(rng)
    x0, _, x1, _ = front.surface(surface).box
    wall_y = _wall_row(front)
    height_px = app.height_m * front.view.px_per_m(wall_y)
    spot = (float(rng.uniform(0.35, 0.65)) * (x1 - x0) + x0, wall_y)
    touch = (spot[0] + 0.12 * height_px, wall_y - 0.75 * height_px)
    first = float(rng.uniform(0.35, 0.55)) * stay_s
    lane = _lane(front, rng)
    steps: tuple[Step, ...] = (
        Walk(spot, 1.1),
        Stand(first),
        Reach(2.0, (None, touch)),
        Stand(stay_s - first - 2.0),
        Walk(_offscreen(front, app, lane, side), 1.2),
    )
    return Actor(app, _offscreen(front, app, lane, -side), start_s, steps)


def card_positions(
    front: Shopfront, rng: np.random.Generator, surface: str, count: int, app: Appearance
) -> list[props.Item]:
    """``count`` cards on ``surface`` at hand height, side by side, in one colour or several."""
    x0, y0, x1, y1 = front.surface(surface).box
    s = front.view.wall_px_per_m
    base = front.view.wall_base_y
    size = props.CARD_SIZES_M[int(rng.integers(len(props.CARD_SIZES_M)))]
    centre_x = float(rng.uniform(x0 + 0.15 * s, x1 - 0.15 * s - (count - 1) * 0.22 * s))
    cards = []
    for i in range(count):
        height_m = float(rng.uniform(1.05, min(1.55, app.height_m * 0.85)))
        cx = centre_x + i * float(rng.uniform(0.17, 0.22)) * s
        cy = min(y1 - 0.1 * s, max(y0 + 0.1 * s, base - height_m * s))
        colour = props.CARD_COLOURS[int(rng.integers(len(props.CARD_COLOURS)))]
        cards.append(props.card((cx, cy), size, s, colour))
    return cards


def card_poster(
    front: Shopfront, rng: np.random.Generator, start_s: float, where: tuple[str, int], *, day: bool, side: int
) -> Actor:
    """Walks in from ``side``, stops at the surface ``where[0]``, sticks ``where[1]`` cards with the right hand
    (stepping sideways between them), walks on."""
    app = person(rng, day=day)
    cards = card_positions(front, rng, where[0], where[1], app)
    wall_y = _wall_row(front)
    height_px = app.height_m * front.view.px_per_m(wall_y)
    lane = _lane(front, rng)
    steps: list[Step] = []
    for i, item in enumerate(cards):
        cx = (item.box[0] + item.box[2]) / 2
        cy = (item.box[1] + item.box[3]) / 2
        spot = (cx - 0.13 * height_px, wall_y)
        steps.append(Walk(spot, 1.2) if i == 0 else Walk(spot, 0.5, sidestep=True))
        steps.append(Stand(float(rng.uniform(0.4, 0.8))))
        steps.append(Reach(float(rng.uniform(1.4, 2.0)), (None, (cx, cy)), leaves=(item,)))
    steps.append(Stand(float(rng.uniform(0.3, 0.7))))
    steps.append(Walk(_offscreen(front, app, lane, -side), float(rng.uniform(1.2, 1.5))))
    return Actor(app, _offscreen(front, app, lane, side), start_s, tuple(steps))


def stopper(front: Shopfront, rng: np.random.Generator, start_s: float, *, side: int, surface: str = "door") -> Actor:
    """Stops at the door (or ``surface``), reaches for the handle, waits, changes their mind, leaves nothing."""
    app = person(rng)
    x0, _, x1, _ = front.surface(surface).box
    wall_y = _wall_row(front)
    handle = (x1 - (x1 - x0) * 0.2, front.view.wall_base_y - 1.0 * front.view.wall_px_per_m)
    lane = _lane(front, rng)
    steps: tuple[Step, ...] = (
        Walk(((x0 + x1) / 2, wall_y), 1.2),
        Stand(2.0),
        Reach(1.6, (None, handle)),
        Stand(1.5, "front"),
        Walk(_offscreen(front, app, lane, -side), 1.3),
    )
    return Actor(app, _offscreen(front, app, lane, side), start_s, steps)


def poster_hanger(front: Shopfront, rng: np.random.Generator, start_s: float) -> tuple[Actor, props.Item]:
    """Hangs a large poster on the wall panel with both hands: out of the card size range by far."""
    app = person(rng, height_m=float(rng.uniform(1.72, 1.88)))
    x0, _, x1, _ = front.surface("wall").box
    s = front.view.wall_px_per_m
    width_m = min(0.6, (x1 - x0) / s - 0.1)
    top = (int((x0 + x1) / 2 - width_m * s / 2), int(front.view.wall_base_y - 1.75 * s))
    item = props.poster(top, (width_m, width_m * 1.4), s, (240, 235, 220))
    px0, py0, px1, _ = item.box
    hands = ((px0 + 4.0, py0 + 4.0), (px1 - 4.0, py0 + 4.0))
    lane = _lane(front, rng)
    steps: tuple[Step, ...] = (
        Walk(((px0 + px1) / 2, _wall_row(front)), 1.2),
        Stand(1.0),
        Reach(3.5, hands, leaves=(item,)),
        Stand(1.0),
        Walk(_offscreen(front, app, lane, 1), 1.3),
    )
    return Actor(app, _offscreen(front, app, lane, -1), start_s, steps), item


def loiterer(front: Shopfront, rng: np.random.Generator, start_s: float, stay_s: float, *, day: bool) -> Actor:
    """Hangs around the sidewalk in front of the shop: short slow walks and long stands, then leaves."""
    app = person(rng, day=day)
    top, bottom = front.view.sidewalk
    y = float(rng.uniform(top + 14, bottom - 14))
    steps: list[Step] = [Walk((float(rng.uniform(0.3, 0.5)) * WIDTH, y), 1.2)]
    spent = 0.0
    while spent < stay_s:
        stand = float(rng.uniform(3.0, 5.0))
        steps.append(Stand(stand, "front" if rng.random() < 0.5 else "back"))
        to = (float(rng.uniform(0.25, 0.75)) * WIDTH, float(rng.uniform(top + 14, bottom - 14)))
        steps.append(Walk(to, 0.7))
        spent += stand + 3.0
    steps.append(Walk(_offscreen(front, app, y, 1), 1.3))
    return Actor(app, _offscreen(front, app, y, -1), start_s, tuple(steps))


def intruder(front: Shopfront, rng: np.random.Generator, start_s: float, *, side: int) -> Actor:
    """After hours: leaves the sidewalk, tries the shutter, looks around, goes along the front and away."""
    app = person(rng, day=False)
    x0, _, x1, _ = front.surface("shutter").box
    wall_y = _wall_row(front)
    lane = _lane(front, rng)
    grip = ((x0 + x1) / 2 + 10, front.view.wall_base_y - 0.3 * front.view.wall_px_per_m)
    steps: tuple[Step, ...] = (
        Walk(((x0 + x1) / 2, wall_y), 1.1),
        Stand(1.5),
        Reach(2.0, (None, grip)),
        Stand(2.0, "front"),
        Walk((x1 + (WIDTH - x1) * 0.5 if side < 0 else x0 * 0.5, wall_y + 4), 0.8),
        Walk(_offscreen(front, app, lane, -side), 1.4),
    )
    return Actor(app, _offscreen(front, app, lane, side), start_s, steps)


def cyclist(front: Shopfront, rng: np.random.Generator, start_s: float, away_s: float) -> Actor:
    """Wheels a bicycle to the shutter, leaves it there, comes back after ``away_s`` and wheels it off."""
    app = person(rng)
    x0, _, x1, _ = front.surface("shutter").box
    spot = ((x0 + x1) / 2, _wall_row(front) + 6)
    lane = _lane(front, rng)
    out = _offscreen(front, app, lane, 1)
    walk_out = abs(out[0] - spot[0]) / front.view.px_per_m(lane) / 1.4
    steps: tuple[Step, ...] = (
        Walk(spot, 1.1),
        Stand(0.8, "right"),
        PutDown(),
        Walk(out, 1.4),
        Stand(max(0.5, away_s - 2 * walk_out), "left"),
        Walk(spot, 1.4),
        PickUp(),
        Stand(0.8, "left"),
        Walk(_offscreen(front, app, lane, -1), 1.1),
    )
    return Actor(app, _offscreen(front, app, lane, -1), start_s, steps, bicycle=True)
