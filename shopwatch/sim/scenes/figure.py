"""Articulated people: a person is drawn from a skeleton, not as a block, so a detector trained on real people
(COCO) sees a person.

Proportions follow the usual canon (head about 1/7.5 of the height, shoulders at 0.82, hips at 0.5, legs half
the height). A walking person is seen from the side with legs and arms swinging in opposition; a standing one
from the back (facing a shop front) or the front, and either may hold a hand to a point (posting a card, hanging
a poster, holding a bicycle). Limbs are shaded capsules lit from the upper left, drawn at 3x and downsampled so
edges are anti-aliased like a real camera's. All lengths are fractions of the person's height; y points up from
the ground between the feet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

View = Literal["left", "right", "back", "front"]
Rgb = tuple[float, float, float]
Point = tuple[float, float]
FloatImage = npt.NDArray[np.float32]

_SS = 3  # supersampling factor: edges come out anti-aliased after the area downsample
_THIGH, _SHIN, _UPPER_ARM, _FOREARM = 0.245, 0.235, 0.175, 0.155
_HIP_Y, _SHOULDER_Y = 0.50, 0.815
_ANKLE_Y = 0.045


@dataclass(frozen=True)
class Appearance:
    """What a person looks like: height and clothes; ``build`` widens or narrows the body."""

    height_m: float
    skin: Rgb
    hair: Rgb
    top: Rgb
    bottom: Rgb
    shoes: Rgb
    short_sleeves: bool = False
    build: float = 1.0


@dataclass(frozen=True)
class Pose:
    """How a person stands at one instant. ``stride`` 0..1 scales the gait swing (0: standing); ``phase`` is
    the gait phase in radians. ``hands`` are targets for the (left, right) hand in body units (fraction of
    height, x to the image's right, y up from the feet), or None for a hanging or swinging arm."""

    view: View
    phase: float = 0.0
    stride: float = 0.0
    hands: tuple[Point | None, Point | None] = (None, None)


@dataclass(frozen=True)
class Sprite:
    """A drawn person: premultiplied RGB (0-255 float) and coverage, with the feet point at ``anchor``."""

    rgb: FloatImage
    alpha: FloatImage
    anchor: tuple[int, int]  # (x, y) of the point between the feet, in sprite pixels


class _Canvas:
    """Draws body parts in body units onto a supersampled RGB canvas (black outside the figure)."""

    def __init__(self, height_px: float) -> None:
        self.unit = height_px * _SS  # canvas pixels per body unit
        size = int(math.ceil(height_px * 1.3)) * _SS
        self.image = np.zeros((size, size, 4), dtype=np.uint8)  # RGB and coverage
        self.origin = (size / 2.0, size - 0.12 * self.unit)

    def xy(self, p: Point) -> tuple[int, int]:
        return int(round(self.origin[0] + p[0] * self.unit)), int(round(self.origin[1] - p[1] * self.unit))

    def capsule(self, a: Point, b: Point, ra: float, rb: float, color: Rgb) -> None:
        """A tapered limb from ``a`` to ``b`` (radii in body units), dark rim, lit core and a highlight."""
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = math.hypot(dx, dy) or 1e-6
        nx, ny = -dy / length, dx / length  # unit normal
        if nx - ny > 0:  # point the normal at the light (upper left in the image: -x, +y)
            nx, ny = -nx, -ny
        for scale, shift, tone in ((1.0, 0.0, 0.62), (0.72, 0.22, 0.95), (0.32, 0.45, 1.18)):
            sa, sb = ra * shift, rb * shift
            self._tapered(
                (a[0] + nx * sa, a[1] + ny * sa), (b[0] + nx * sb, b[1] + ny * sb), ra * scale, rb * scale, color, tone
            )

    def _tapered(self, a: Point, b: Point, ra: float, rb: float, color: Rgb, tone: float) -> None:
        fill = _tone(color, tone)
        dx, dy = b[0] - a[0], b[1] - a[1]
        length = math.hypot(dx, dy) or 1e-6
        nx, ny = -dy / length, dx / length
        quad = [
            (a[0] + nx * ra, a[1] + ny * ra),
            (b[0] + nx * rb, b[1] + ny * rb),
            (b[0] - nx * rb, b[1] - ny * rb),
            (a[0] - nx * ra, a[1] - ny * ra),
        ]
        cv2.fillPoly(self.image, [np.array([self.xy(p) for p in quad], dtype=np.int32)], fill)
        cv2.circle(self.image, self.xy(a), max(1, int(ra * self.unit)), fill, -1)
        cv2.circle(self.image, self.xy(b), max(1, int(rb * self.unit)), fill, -1)

    def polygon(self, points: list[Point], color: Rgb) -> None:
        """A body polygon (torso), shaded: a dark rim, a lit inset toward the light, a soft highlight."""
        cx = sum(p[0] for p in points) / len(points)
        cy = sum(p[1] for p in points) / len(points)
        span = max(p[0] for p in points) - min(p[0] for p in points)
        for scale, shift, tone in ((1.0, 0.0, 0.62), (0.8, 0.12, 0.95), (0.42, 0.22, 1.15)):
            shifted = [
                (cx + (x - cx) * scale - shift * span, cy + (y - cy) * (0.5 + scale / 2) + shift * span * 0.3)
                for x, y in points
            ]
            pts = np.array([self.xy(p) for p in shifted], dtype=np.int32)
            cv2.fillPoly(self.image, [pts], _tone(color, tone))

    def ellipse(self, centre: Point, radii: Point, color: Rgb, tone: float = 1.0) -> None:
        axes = (max(1, int(radii[0] * self.unit)), max(1, int(radii[1] * self.unit)))
        cv2.ellipse(self.image, self.xy(centre), axes, 0, 0, 360, _tone(color, tone), -1)

    def sprite(self) -> Sprite:
        """Downsample to camera pixels: premultiplied colour and coverage come out of one area resize."""
        h, w = self.image.shape[0] // _SS, self.image.shape[1] // _SS
        small = cv2.resize(self.image, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32)
        alpha = small[..., 3] / 255.0
        return Sprite(rgb=small[..., :3], alpha=alpha, anchor=(int(self.origin[0] / _SS), int(self.origin[1] / _SS)))


def _tone(color: Rgb, tone: float) -> tuple[int, int, int, int]:
    """A fill colour with full coverage in the fourth channel."""
    r, g, b = (int(min(255.0, max(0.0, c * tone))) for c in color)
    return (r, g, b, 255)


def render(appearance: Appearance, pose: Pose, px_per_m: float) -> Sprite:
    """The person drawn ``appearance.height_m * px_per_m`` pixels tall in ``pose``."""
    canvas = _Canvas(appearance.height_m * px_per_m)
    if pose.view in ("left", "right"):
        _draw_side(canvas, appearance, pose)
    else:
        _draw_frontal(canvas, appearance, pose)
    return canvas.sprite()


def _leg(hip: Point, thigh_deg: float, knee_deg: float, d: float) -> tuple[Point, Point, Point]:
    """Knee, ankle and toe of a leg whose thigh is ``thigh_deg`` forward of vertical, knee bent ``knee_deg``."""
    a = math.radians(thigh_deg)
    knee = (hip[0] + d * _THIGH * math.sin(a), hip[1] - _THIGH * math.cos(a))
    s = a - math.radians(knee_deg)
    ankle = (knee[0] + d * _SHIN * math.sin(s), knee[1] - _SHIN * math.cos(s))
    toe = (ankle[0] + d * 0.1, ankle[1] - 0.03)
    return knee, ankle, toe


def _arm(shoulder: Point, target: Point | None, swing_deg: float, d: float) -> tuple[Point, Point]:
    """Elbow and wrist: reaching for ``target`` (two-bone IK, elbow below the line) or swinging."""
    if target is None:
        a = math.radians(swing_deg)
        elbow = (shoulder[0] + d * _UPPER_ARM * math.sin(a), shoulder[1] - _UPPER_ARM * math.cos(a))
        f = a + math.radians(12 + max(0.0, swing_deg) * 0.6)  # the forearm bends forward a little
        return elbow, (elbow[0] + d * _FOREARM * math.sin(f), elbow[1] - _FOREARM * math.cos(f))
    tx, ty = target[0] - shoulder[0], target[1] - shoulder[1]
    reach = _UPPER_ARM + _FOREARM
    dist = min(math.hypot(tx, ty), reach * 0.999) or 1e-6
    base = math.atan2(ty, tx)
    cos_in = (_UPPER_ARM**2 + dist**2 - _FOREARM**2) / (2 * _UPPER_ARM * dist)
    bend = math.acos(max(-1.0, min(1.0, cos_in)))
    options = [base + bend, base - bend]
    angle = min(options, key=lambda t: math.sin(t))  # the elbow that hangs lower
    elbow = (shoulder[0] + _UPPER_ARM * math.cos(angle), shoulder[1] + _UPPER_ARM * math.sin(angle))
    wrist = (shoulder[0] + dist * math.cos(base), shoulder[1] + dist * math.sin(base))
    return elbow, wrist


def _sleeve(app: Appearance) -> Rgb:
    return app.skin if app.short_sleeves else app.top


def _draw_side(c: _Canvas, app: Appearance, pose: Pose) -> None:
    d = 1.0 if pose.view == "right" else -1.0
    swing = math.sin(pose.phase) * pose.stride
    lift = max(0.0, math.cos(pose.phase)) * pose.stride
    lift_far = max(0.0, -math.cos(pose.phase)) * pose.stride
    hip = (0.0, _HIP_Y)
    legs = [_leg(hip, -24 * swing, 8 + 45 * lift_far, d), _leg(hip, 24 * swing, 8 + 45 * lift, d)]  # far, near
    # Drop the body so the lower ankle touches the ground: the bob of a walk comes out by itself.
    drop = min(leg[1][1] for leg in legs) - _ANKLE_Y
    hip = (hip[0], hip[1] - drop)
    legs = [_leg(hip, -24 * swing, 8 + 45 * lift_far, d), _leg(hip, 24 * swing, 8 + 45 * lift, d)]
    w = app.build
    shoulder = (0.012 * d, _SHOULDER_Y - drop)
    far_hand, near_hand = (pose.hands[0], pose.hands[1]) if d > 0 else (pose.hands[1], pose.hands[0])
    arms = [_arm(shoulder, far_hand, 22 * swing, d), _arm(shoulder, near_hand, -22 * swing, d)]
    for index, ((knee, ankle, toe), (elbow, wrist)) in enumerate(zip(legs, arms, strict=True)):
        dim = 0.72 if index == 0 else 1.0  # the far limbs are in the body's shade
        if index == 1:
            _side_torso(c, app, shoulder, d)
        c.capsule(hip, knee, 0.044 * w, 0.034 * w, _dim(app.bottom, dim))
        c.capsule(knee, ankle, 0.033 * w, 0.024 * w, _dim(app.bottom, dim))
        c.capsule(ankle, toe, 0.022, 0.018, _dim(app.shoes, dim))
        c.capsule(shoulder, elbow, 0.028 * w, 0.024 * w, _dim(app.top, dim))
        c.capsule(elbow, wrist, 0.022 * w, 0.018 * w, _dim(_sleeve(app), dim))
        c.ellipse(wrist, (0.02, 0.024), _dim(app.skin, dim))
    _head(c, app, (0.025 * d, 0.935 - drop), d)


def _side_torso(c: _Canvas, app: Appearance, shoulder: Point, d: float) -> None:
    w = app.build
    drop = _SHOULDER_Y - shoulder[1]
    c.capsule((0.02 * d, 0.88 - drop), (0.012 * d, 0.8 - drop), 0.022, 0.026, app.skin)  # neck
    front = [(0.07 * w, 0.835), (0.09 * w, 0.72), (0.072 * w, 0.6), (0.078 * w, 0.48)]
    back = [(-0.075 * w, 0.47), (-0.066 * w, 0.6), (-0.075 * w, 0.72), (-0.06 * w, 0.84)]
    c.polygon([(shoulder[0] + d * x, y - drop) for x, y in front + back], app.top)
    pelvis = [(0.075 * w, 0.52), (0.07 * w, 0.42), (-0.07 * w, 0.42), (-0.072 * w, 0.53)]
    c.polygon([(d * x, y - drop) for x, y in pelvis], app.bottom)


def _head(c: _Canvas, app: Appearance, centre: Point, facing: float | None) -> None:
    """A head with hair on top; ``facing`` -1/+1 seen from that side (hair at the back), 0 from the front,
    None from the back (all hair)."""
    c.ellipse(centre, (0.058, 0.068), app.hair, 0.9)
    if facing is None:
        for side in (-1.0, 1.0):  # ears
            c.ellipse((centre[0] + side * 0.056, centre[1] - 0.012), (0.012, 0.02), app.skin, 0.85)
        c.ellipse((centre[0] - 0.012, centre[1] + 0.018), (0.028, 0.03), app.hair, 1.2)  # sheen
        return
    face = (centre[0] + 0.012 * facing, centre[1] - 0.014)
    c.ellipse(face, (0.05, 0.055), app.skin)
    c.ellipse((face[0] - 0.012, face[1] + 0.012), (0.022, 0.02), app.skin, 1.15)  # lit cheek and forehead
    if facing:
        c.ellipse((face[0] + 0.04 * facing, face[1] - 0.005), (0.012, 0.016), app.skin, 0.9)  # nose


def _draw_frontal(c: _Canvas, app: Appearance, pose: Pose) -> None:
    w = app.build
    front = pose.view == "front"
    swing = math.sin(pose.phase) * pose.stride
    sides = (-1.0, 1.0)  # image left, image right
    hips = [(s * 0.058 * w, _HIP_Y) for s in sides]
    shoulders = [(s * 0.125 * w, _SHOULDER_Y) for s in sides]
    for k, (s, hip) in enumerate(zip(sides, hips, strict=True)):
        bend = 10 + 25 * max(0.0, swing * (1 if k else -1))  # a step toward/away from the camera bends the knee
        knee = (hip[0] + s * 0.012, hip[1] - _THIGH * math.cos(math.radians(bend * 0.5)))
        ankle = (hip[0] + s * 0.018, _ANKLE_Y + 0.02 * max(0.0, swing * (1 if k else -1)))
        c.capsule(hip, knee, 0.047 * w, 0.036 * w, app.bottom)
        c.capsule(knee, ankle, 0.035 * w, 0.025 * w, app.bottom)
        c.ellipse((ankle[0] + s * 0.01, ankle[1] - 0.02), (0.034, 0.022), app.shoes)
    torso = [(-0.1 * w, 0.845), (0.1 * w, 0.845), (0.135 * w, 0.8), (0.13 * w, 0.72), (0.105 * w, 0.6)]
    torso += [(0.112 * w, 0.48), (-0.112 * w, 0.48), (-0.105 * w, 0.6), (-0.13 * w, 0.72), (-0.135 * w, 0.8)]
    c.capsule((0.0, 0.885), (0.0, 0.8), 0.025, 0.03, app.skin)  # neck
    c.polygon(torso, app.top)
    c.polygon([(-0.112 * w, 0.52), (0.112 * w, 0.52), (0.1 * w, 0.42), (-0.1 * w, 0.42)], app.bottom)
    for k, (s, shoulder) in enumerate(zip(sides, shoulders, strict=True)):
        target = pose.hands[k]
        if target is None:
            elbow = (shoulder[0] + s * 0.045, shoulder[1] - _UPPER_ARM * 0.98)
            wrist = (elbow[0] + s * 0.012, elbow[1] - _FOREARM * 0.98)
        else:
            elbow, wrist = _arm(shoulder, target, 0.0, 1.0)
        c.capsule((shoulder[0] - s * 0.01, shoulder[1] + 0.01), elbow, 0.034 * w, 0.027 * w, app.top)
        c.capsule(elbow, wrist, 0.026 * w, 0.02 * w, _sleeve(app))
        c.ellipse(wrist, (0.022, 0.026), app.skin)
    _head(c, app, (0.0, 0.935), 0.0 if front else None)


def _dim(color: Rgb, factor: float) -> Rgb:
    return (color[0] * factor, color[1] * factor, color[2] * factor)
