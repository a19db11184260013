"""The fixed camera's view of a shop front: perspective, facade layout, textures, zones and lighting.

The camera hangs across the street and looks down at the facade. The ground is a plane, so a person's size
in pixels grows linearly with the image row of their feet (``View.px_per_m``). The facade (door, rolling
shutter, window, a bare wall panel, a sign board) is laid out in metres from a seed; the first door, shutter and
wall panel are the ``surface`` zones cards get posted on. On the ground, a ``forecourt`` strip along the shop
(the shop's own space: intrusion after hours) and the public ``sidewalk`` nearer the camera (loitering) are the
``area`` zones, separated by a gap so feet are never ambiguous.

Pictures are kept as albedo (what the surfaces are) and lighting (how much light falls where) so cards can be
added to the albedo and the same scene lit by day, by night, or after the shop's lights come on.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

FloatImage = npt.NDArray[np.float32]
Box = tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels, exclusive ends

WIDTH, HEIGHT = 640, 360


@dataclass(frozen=True)
class View:
    """Camera geometry: the facade's foot row, its scale, and the scale at the bottom row of the picture."""

    wall_base_y: int
    wall_px_per_m: float
    near_px_per_m: float

    @property
    def horizon_y(self) -> float:
        s_w, s_n = self.wall_px_per_m, self.near_px_per_m
        return (s_w * HEIGHT - s_n * self.wall_base_y) / (s_w - s_n)

    def px_per_m(self, feet_y: float) -> float:
        """Pixels per metre for something standing with its feet on row ``feet_y`` (pinhole over a plane)."""
        return self.wall_px_per_m * (feet_y - self.horizon_y) / (self.wall_base_y - self.horizon_y)

    @property
    def forecourt(self) -> tuple[int, int]:
        """Feet rows of the shop's forecourt (inclusive top, exclusive bottom)."""
        return self.wall_base_y, self.wall_base_y + int(0.45 * self.wall_px_per_m)

    @property
    def sidewalk(self) -> tuple[int, int]:
        return self.forecourt[1] + int(0.3 * self.wall_px_per_m), HEIGHT


CLOSE = View(wall_base_y=252, wall_px_per_m=88.0, near_px_per_m=118.0)  # posting actors ~140-170 px tall
WIDE = View(wall_base_y=236, wall_px_per_m=56.0, near_px_per_m=80.0)  # a wider street: ~90-150 px


@dataclass(frozen=True)
class Surface:
    name: str  # zone name: door, shutter, wall
    box: Box


@dataclass(frozen=True)
class Shopfront:
    view: View
    albedo: FloatImage  # H x W x 3, 0-255
    surfaces: tuple[Surface, ...]
    sign: Box
    window: Box

    def surface(self, name: str) -> Surface:
        for surface in self.surfaces:
            if surface.name == name:
                return surface
        raise KeyError(f"expected a surface among {[s.name for s in self.surfaces]}, found {name!r}")

    def zones(self) -> list[dict[str, object]]:
        """The camera's zones as the CAMERA.yaml format wants them (normalized polygons)."""
        out: list[dict[str, object]] = []
        for surface in self.surfaces:
            x0, y0, x1, y1 = surface.box
            out.append({"name": surface.name, "kind": "surface", "polygon": _rect_polygon(x0, y0, x1, y1)})
        for name, (top, bottom) in (("forecourt", self.view.forecourt), ("sidewalk", self.view.sidewalk)):
            out.append({"name": name, "kind": "area", "polygon": _rect_polygon(0, top, WIDTH, bottom)})
        return out


def _rect_polygon(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    nx0, nx1 = round(x0 / WIDTH, 4), round(x1 / WIDTH, 4)
    ny0, ny1 = round(y0 / HEIGHT, 4), round(y1 / HEIGHT, 4)
    return [[nx0, ny0], [nx1, ny0], [nx1, ny1], [nx0, ny1]]


_WALLS = [(196, 188, 170), (170, 160, 150), (150, 92, 78), (205, 205, 198), (120, 128, 135)]
_SIGNS = [(180, 30, 30), (30, 80, 160), (240, 200, 40), (30, 120, 60), (240, 240, 235)]


def build(view: View, rng: np.random.Generator) -> Shopfront:
    """A seeded facade: wall, sign, and door, shutter, window with wall panels between them."""
    s = view.wall_px_per_m
    base = view.wall_base_y
    albedo = np.empty((HEIGHT, WIDTH, 3), dtype=np.float32)
    albedo[:base] = _WALLS[int(rng.integers(len(_WALLS)))]
    _ground(albedo, base, rng)
    widths = {"shutter": rng.uniform(2.0, 2.4), "door": rng.uniform(0.9, 1.0), "window": rng.uniform(1.2, 1.5)}
    heights = {"shutter": 2.45, "door": 2.1, "window": 1.75}
    order = [str(kind) for kind in rng.permutation(["shutter", "door", "window"])]
    x = rng.uniform(0.2, 0.35) * s
    boxes: dict[str, Box] = {}
    panels: list[Box] = []
    top_door = base - int(2.1 * s)
    for index, kind in enumerate(order * 3):  # a wide view shows the neighbours' fronts too
        if x > WIDTH - 0.3 * s:
            break
        bottom = base if kind != "window" else base - int(0.6 * s)
        box = (int(x), bottom - int(heights[kind] * s), min(WIDTH, int(x + widths[kind] * s)), bottom)
        boxes.setdefault(kind, box)
        _PAINT[kind](albedo, box, rng)
        gap = (1.25 if index == 0 else 0.6) * s  # the first gap is the bare wall panel posters go on
        panels.append((box[2] + int(0.12 * s), top_door, int(x + widths[kind] * s + gap - 0.12 * s), base - 8))
        x += widths[kind] * s + gap
    sign = (int(0.1 * s), max(4, top_door - int(0.85 * s)), WIDTH - int(0.1 * s), top_door - int(0.2 * s))
    _paint_sign(albedo, sign, rng)
    albedo[base - 6 : base] *= 0.7  # skirting along the foot of the wall
    albedo += rng.standard_normal((HEIGHT, WIDTH, 1), dtype=np.float32) * 3.5  # plaster, dirt, grain
    surfaces = (
        Surface("door", boxes["door"]),
        Surface("shutter", boxes["shutter"]),
        Surface("wall", panels[0]),
    )
    window = boxes.get("window", (0, 0, 1, 1))
    return Shopfront(view, np.clip(albedo, 0, 255), surfaces, sign, window)


def _ground(albedo: FloatImage, base: int, rng: np.random.Generator) -> None:
    albedo[base:] = rng.uniform(95, 130)
    albedo[base:] *= np.array([1.0, 0.98, 0.95], dtype=np.float32)
    for y in range(base + 6, HEIGHT, 14):  # paving joints
        albedo[y] *= 0.82
    for x in range(int(rng.uniform(0, 40)), WIDTH, 40):
        albedo[base:, x] *= 0.85


def _paint_shutter(albedo: FloatImage, box: Box, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = box
    tone = rng.uniform(150, 200)
    albedo[y0:y1, x0:x1] = (tone, tone, tone * 1.03)
    rib = max(4, (y1 - y0) // 30)
    for y in range(y0, y1, rib):
        albedo[y : y + 1, x0:x1] *= 0.62
        albedo[y + 1 : y + 2, x0:x1] *= 1.08
    albedo[y0 : y0 + 8, x0 - 3 : x1 + 3] = tone * 0.55  # shutter box
    albedo[y1 - 4 : y1, x0:x1] *= 0.6  # bottom bar


def _paint_door(albedo: FloatImage, box: Box, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = box
    frame = max(3, (x1 - x0) // 12)
    albedo[y0:y1, x0:x1] = rng.choice([[70, 60, 52], [150, 120, 80], [40, 70, 90], [180, 180, 175]])
    albedo[y0:y1, x0 : x0 + frame] *= 0.6
    albedo[y0:y1, x1 - frame : x1] *= 0.6
    albedo[y0 : y0 + frame, x0:x1] *= 0.6
    panel = (x0 + 2 * frame, y0 + 2 * frame, x1 - 2 * frame, (y0 + y1) // 2 - frame)
    albedo[panel[1] : panel[3], panel[0] : panel[2]] *= 1.15
    mid = (y0 + y1) // 2
    albedo[mid : mid + frame, x1 - 4 * frame : x1 - 2 * frame] = (210, 210, 200)  # handle


def _paint_window(albedo: FloatImage, box: Box, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = box
    albedo[y0:y1, x0:x1] = (45, 52, 60)
    for _ in range(6):  # goods on shelves behind the glass
        gx = int(rng.uniform(x0 + 6, x1 - 20))
        gy = int(rng.uniform(y0 + 10, y1 - 20))
        albedo[gy : gy + 12, gx : gx + 14] = rng.uniform(60, 160, size=3)
    albedo[y0 : y0 + 4, x0:x1] = 200
    albedo[y1 - 4 : y1, x0:x1] = 200
    albedo[y0:y1, x0 : x0 + 4] = 200
    albedo[y0:y1, x1 - 4 : x1] = 200
    albedo[y0:y1, (x0 + x1) // 2 - 2 : (x0 + x1) // 2 + 2] = 200


_PAINT = {"shutter": _paint_shutter, "door": _paint_door, "window": _paint_window}


def _paint_sign(albedo: FloatImage, box: Box, rng: np.random.Generator) -> None:
    x0, y0, x1, y1 = box
    if y1 - y0 < 6:
        return
    colour = np.array(_SIGNS[int(rng.integers(len(_SIGNS)))], dtype=np.float32)
    albedo[y0:y1, x0:x1] = colour
    letters = 255 - colour if colour.mean() > 120 else np.array([250, 245, 220], dtype=np.float32)
    h = y1 - y0
    x = x0 + h
    while x + h < x1 - h and x < x0 + (x1 - x0) * 0.6:  # a row of glyph-like blocks
        albedo[y0 + h // 5 : y1 - h // 5, x : x + int(h * 0.7)] = letters
        albedo[y0 + h // 2 - 1 : y0 + h // 2 + 1, x : x + int(h * 0.7)] = colour
        x += int(h * 0.95)


@dataclass(frozen=True)
class Lighting:
    """A light level per pixel (multiplies albedo) and light emitted by lit signs and windows (added)."""

    gain: FloatImage  # H x W x 3
    glow: FloatImage  # H x W x 3, 0-255


def daylight(rng: np.random.Generator) -> Lighting:
    level = rng.uniform(0.9, 1.08)
    ramp = np.linspace(1.04, 0.94, HEIGHT, dtype=np.float32)[:, None, None]
    gain = np.ones((HEIGHT, WIDTH, 3), dtype=np.float32) * ramp * level
    return Lighting(gain, np.zeros_like(gain))


def night(front: Shopfront, rng: np.random.Generator, *, shop_lights: bool) -> Lighting:
    """A street light somewhere along the facade; with ``shop_lights`` the sign and window glow and the
    facade gets their spill."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)
    lamp_x = rng.uniform(0.25, 0.75) * WIDTH
    pool = np.exp(-(((xs - lamp_x) / 260.0) ** 2 + ((ys - front.view.wall_base_y) / 200.0) ** 2))
    gain = (0.22 + 0.42 * pool)[..., None] * np.array([1.0, 0.9, 0.72], dtype=np.float32)
    gain += np.float32(0.06) * np.array([0.6, 0.7, 1.0], dtype=np.float32)  # sky and distant lights
    glow = np.zeros((HEIGHT, WIDTH, 3), dtype=np.float32)
    if shop_lights:
        gain += 0.25 * np.array([1.0, 0.95, 0.85], dtype=np.float32)
        x0, y0, x1, y1 = front.sign
        glow[y0:y1, x0:x1] = front.albedo[y0:y1, x0:x1] * 0.55
        x0, y0, x1, y1 = front.window
        glow[y0:y1, x0:x1] = (150, 140, 110)
        glow = cv2.GaussianBlur(glow, (0, 0), 2.0).astype(np.float32)
    return Lighting(gain.astype(np.float32), glow)
