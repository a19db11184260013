"""Things in a scene other than people: cards and posters stuck on the facade, a bicycle, rain.

A card is about business-card size (9 x 5.5 cm) up to a small flyer (A6, 10.5 x 14.8 cm): at a shop front
that is a few pixels to about 15 px, which is what a card-posting detector must find. A poster is half a metre
or more: far outside the card range. Items are painted into the facade's albedo, so they are lit (and dimmed at
night) like the surface they are on.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from shopwatch.sim.scenes.shopfront import Box

FloatImage = npt.NDArray[np.float32]
Colour = tuple[float, float, float]

CARD_COLOURS: tuple[Colour, ...] = (
    (245, 245, 240),  # white
    (250, 225, 60),  # yellow
    (250, 150, 190),  # pink
    (140, 200, 250),  # light blue
    (235, 60, 50),  # red
    (120, 230, 120),  # green
)
# Card sizes in metres (width, height): business card, a wider card, A6 flyer upright.
CARD_SIZES_M: tuple[tuple[float, float], ...] = ((0.09, 0.055), (0.1, 0.07), (0.105, 0.148))


@dataclass(frozen=True)
class Item:
    """Something stuck on the facade: ``kind`` card or poster, its pixel box and colour."""

    kind: str
    box: Box
    colour: Colour
    ink: Colour = (30, 30, 30)


def card(centre: tuple[float, float], size_m: tuple[float, float], px_per_m: float, colour: Colour) -> Item:
    w = max(3, round(size_m[0] * px_per_m))
    h = max(3, round(size_m[1] * px_per_m))
    x0, y0 = round(centre[0] - w / 2), round(centre[1] - h / 2)
    return Item("card", (x0, y0, x0 + w, y0 + h), colour)


def poster(top_left: tuple[int, int], size_m: tuple[float, float], px_per_m: float, colour: Colour) -> Item:
    w, h = round(size_m[0] * px_per_m), round(size_m[1] * px_per_m)
    return Item("poster", (top_left[0], top_left[1], top_left[0] + w, top_left[1] + h), colour, (20, 40, 120))


def paint(albedo: FloatImage, item: Item) -> None:
    """Paint ``item`` into the facade albedo (in place): a bright sheet, lines of print, a faint edge shadow."""
    x0, y0, x1, y1 = item.box
    albedo[y0 + 1 : y1 + 1, x0 + 1 : x1 + 1] *= 0.8  # shadow of the sheet's edge
    albedo[y0:y1, x0:x1] = item.colour
    w, h = x1 - x0, y1 - y0
    ink = np.array(item.ink, dtype=np.float32)
    if item.kind == "poster":
        albedo[y0 + h // 12 : y0 + h // 4, x0 + w // 10 : x1 - w // 10] = ink  # headline
        albedo[y0 + h // 3 : y0 + h * 2 // 3, x0 + w // 6 : x1 - w // 6] = (ink + item.colour) / 2  # picture
        for y in range(y0 + h * 3 // 4, y1 - 3, 5):
            albedo[y : y + 2, x0 + w // 8 : x1 - w // 8] = ink
        return
    for y in range(y0 + max(1, h // 4), y1 - 1, 3):  # print: a phone number, a few words
        albedo[y : y + 1, x0 + 1 : x1 - 1] = (ink + 2 * np.array(item.colour, dtype=np.float32)) / 3


BICYCLE_WHEEL_M = 0.34
BICYCLE_BASE_M = 1.05


def draw_bicycle(frame: FloatImage, wheels_y: float, x: float, facing: float, px_per_m: float) -> tuple[int, ...]:
    """A bicycle seen from the side, standing on row ``wheels_y``; returns its box (x0, y0, x1, y1)."""
    r = BICYCLE_WHEEL_M * px_per_m
    half = BICYCLE_BASE_M * px_per_m / 2
    rear, front = (x - facing * half, wheels_y - r), (x + facing * half, wheels_y - r)
    crank = (x - facing * 0.1 * px_per_m, wheels_y - r)
    seat = (x - facing * 0.25 * px_per_m, wheels_y - 0.95 * px_per_m)
    bar = (x + facing * 0.38 * px_per_m, wheels_y - 1.02 * px_per_m)
    head = (x + facing * 0.33 * px_per_m, wheels_y - 0.8 * px_per_m)
    scale = 4  # sub-pixel positions: cv2 shift
    thick = max(1, round(0.03 * px_per_m))

    def p(point: tuple[float, float]) -> tuple[int, int]:
        return round(point[0] * (1 << scale)), round(point[1] * (1 << scale))

    frame_colour, tyre = (170.0, 30.0, 30.0), (25.0, 25.0, 25.0)
    for wheel in (rear, front):
        cv2.circle(frame, p(wheel), round(r * (1 << scale)), tyre, thick + 1, cv2.LINE_AA, scale)
        cv2.circle(frame, p(wheel), round(r * 0.15 * (1 << scale)), (120.0, 120.0, 120.0), -1, cv2.LINE_AA, scale)
    for a, b in ((rear, crank), (crank, head), (rear, seat), (seat, crank), (seat, head), (head, front)):
        cv2.line(frame, p(a), p(b), frame_colour, thick, cv2.LINE_AA, scale)
    cv2.line(frame, p(head), p(bar), (40.0, 40.0, 40.0), thick, cv2.LINE_AA, scale)
    cv2.line(frame, p((seat[0] - 0.08 * px_per_m, seat[1])), p((seat[0] + 0.08 * px_per_m, seat[1])), tyre, thick + 1)
    x0 = min(rear[0], front[0]) - r
    x1 = max(rear[0], front[0]) + r
    return (int(x0), int(min(seat[1], bar[1])), int(x1) + 1, int(wheels_y) + 1)


def rain(frame: FloatImage, rng: np.random.Generator, drops: int) -> None:
    """Streaks of rain lit by the street: short, slanted, faint, a new set every frame."""
    h, w = frame.shape[:2]
    layer = np.zeros((h, w), dtype=np.float32)
    xs = rng.uniform(-20, w, drops)
    ys = rng.uniform(-20, h, drops)
    lengths = rng.uniform(8, 22, drops)
    for x, y, length in zip(xs, ys, lengths, strict=True):
        cv2.line(layer, (int(x), int(y)), (int(x + length * 0.25), int(y + length)), 1.0, 1, cv2.LINE_AA)
    frame += (layer * 55.0)[..., None]
    frame *= 0.94  # the veil of a wet, grey evening
