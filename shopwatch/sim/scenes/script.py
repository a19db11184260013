"""What each person in a scene does, step by step, and where they are at any instant.

An actor enters at ``start_s`` at a feet position (image pixels) and runs through steps: walk to a point, stand,
or reach with one or both hands to points on the facade (posting cards, hanging a poster). A reach may leave
items on the facade; they appear while the hand is there. After the last step the actor is gone (a script walks
them out of the picture first). A carried bicycle is wheeled alongside and stays where it is put down until it is
taken again. ``Timeline.at(t)`` answers where everyone and everything is, which is all the renderer and the
ground truth need.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from shopwatch.sim.scenes.figure import Appearance, Point, Pose, View
from shopwatch.sim.scenes.props import Item
from shopwatch.sim.scenes.shopfront import View as CameraView

_STRIDE_M = 1.45  # one gait cycle (two steps)
_RAMP_S = 0.5  # raising or lowering an arm
_REST = ((-0.13, 0.42), (0.13, 0.42))  # hands hanging, body units


@dataclass(frozen=True)
class Walk:
    to: Point  # feet, image pixels
    speed_mps: float = 1.3
    sidestep: bool = False  # a step along the facade within one visit (does not end it)


@dataclass(frozen=True)
class Stand:
    seconds: float
    view: View = "back"


@dataclass(frozen=True)
class Reach:
    """Hold hands to image points (left, right) for ``seconds`` (ramps included), facing the facade."""

    seconds: float
    hands: tuple[Point | None, Point | None]
    leaves: tuple[Item, ...] = ()  # appear when the hands arrive


@dataclass(frozen=True)
class PutDown:
    """Leave the carried bicycle where it is; it stays until a ``PickUp``."""


@dataclass(frozen=True)
class PickUp:
    """Take the bicycle again (the actor must stand next to it)."""


Step = Walk | Stand | Reach | PutDown | PickUp


@dataclass(frozen=True)
class Actor:
    appearance: Appearance
    start: Point
    start_s: float
    steps: tuple[Step, ...]
    bicycle: bool = False  # wheels a bicycle from the start


@dataclass(frozen=True)
class Span:
    """One step placed in time: ``t0``..``t1``, from ``a`` to ``b`` (feet), with the distance walked before."""

    step: Step
    t0: float
    t1: float
    a: Point
    b: Point
    walked_m: float
    facing: View


@dataclass(frozen=True)
class ActorState:
    feet: Point
    pose: Pose
    height_px: float


@dataclass(frozen=True)
class BicycleState:
    wheels_y: float  # ground row
    x: float  # centre
    facing: float  # +1 front wheel to the right, -1 to the left


@dataclass
class Plan:
    """An actor's steps placed in time."""

    actor: Actor
    spans: list[Span] = field(default_factory=list)

    @property
    def end_s(self) -> float:
        return self.spans[-1].t1 if self.spans else self.actor.start_s

    def span_at(self, t: float) -> Span | None:
        for span in self.spans:
            if span.t0 <= t < span.t1:
                return span
        return None


def plan(actor: Actor, view: CameraView) -> Plan:
    out = Plan(actor)
    t, at, walked, facing = actor.start_s, actor.start, 0.0, "right"
    for step in actor.steps:
        if isinstance(step, Walk):
            s = view.px_per_m((at[1] + step.to[1]) / 2)
            metres = math.hypot(step.to[0] - at[0], (step.to[1] - at[1]) * 2.5) / s
            dx = step.to[0] - at[0]
            facing = ("right" if dx > 0 else "left") if abs(dx) > abs(step.to[1] - at[1]) else _depth_view(at, step.to)
            duration = metres / step.speed_mps
            out.spans.append(Span(step, t, t + duration, at, step.to, walked, facing))  # type: ignore[arg-type]
            t, at, walked = t + duration, step.to, walked + metres
        else:
            duration = step.seconds if isinstance(step, Stand | Reach) else 0.6
            view_now: View = step.view if isinstance(step, Stand) else ("back" if isinstance(step, Reach) else facing)  # type: ignore[assignment]
            out.spans.append(Span(step, t, t + duration, at, at, walked, view_now))
            t += duration
    return out


def _depth_view(a: Point, b: Point) -> str:
    return "front" if b[1] > a[1] else "back"


def actor_state(p: Plan, t: float, view: CameraView) -> ActorState | None:
    span = p.span_at(t)
    if span is None:
        return None
    app = p.actor.appearance
    step = span.step
    k = (t - span.t0) / (span.t1 - span.t0) if span.t1 > span.t0 else 1.0
    feet = (span.a[0] + (span.b[0] - span.a[0]) * k, span.a[1] + (span.b[1] - span.a[1]) * k)
    height_px = app.height_m * view.px_per_m(feet[1])
    if isinstance(step, Walk):
        walked = span.walked_m + math.hypot(
            (span.b[0] - span.a[0]) * k, (span.b[1] - span.a[1]) * k * 2.5
        ) / view.px_per_m(feet[1])
        pose = Pose(span.facing, phase=2 * math.pi * walked / _STRIDE_M, stride=1.0)
    elif isinstance(step, Reach):
        ramp = min(1.0, (t - span.t0) / _RAMP_S, (span.t1 - t) / _RAMP_S)
        hands = tuple(
            None if target is None else _lerp(rest, _to_body(target, feet, height_px), max(0.0, ramp))
            for rest, target in zip(_REST, step.hands, strict=True)
        )
        pose = Pose("back", hands=hands)  # type: ignore[arg-type]
    else:
        pose = Pose(span.facing)
    if p.actor.bicycle and _holding(p, t) and pose.view in ("left", "right"):
        d = 1.0 if pose.view == "right" else -1.0
        grip = (d * 0.17, 0.6)  # the handlebar, held with the far hand (the bicycle is behind the person)
        pose = Pose(pose.view, pose.phase, pose.stride, (grip, None) if d > 0 else (None, grip))
    return ActorState(feet, pose, height_px)


def _to_body(target: Point, feet: Point, height_px: float) -> Point:
    return ((target[0] - feet[0]) / height_px, (feet[1] - target[1]) / height_px)


def _lerp(a: Point, b: Point, k: float) -> Point:
    return (a[0] + (b[0] - a[0]) * k, a[1] + (b[1] - a[1]) * k)


def _holding(p: Plan, t: float) -> bool:
    """Whether the bicycle is with the actor at ``t`` (not put down)."""
    holding = True
    for span in p.spans:
        if span.t0 > t:
            break
        if isinstance(span.step, PutDown):
            holding = False
        elif isinstance(span.step, PickUp):
            holding = True
    return holding


def bicycle_state(p: Plan, t: float, view: CameraView) -> BicycleState | None:
    """Where the actor's bicycle is: beside them while wheeled, where it was put down otherwise."""
    if not p.actor.bicycle:
        return None
    put: BicycleState | None = None
    last_facing = 1.0
    for span in p.spans:
        if span.t0 > t:
            break
        if span.facing in ("left", "right"):
            last_facing = 1.0 if span.facing == "right" else -1.0
        if isinstance(span.step, PutDown):
            put = _beside(span.a, last_facing, view)
        elif isinstance(span.step, PickUp):
            put = None
    if put is not None:
        return put
    state = actor_state(p, t, view)
    if state is None:
        return None
    return _beside(state.feet, last_facing, view)


def _beside(feet: Point, facing: float, view: CameraView) -> BicycleState:
    return BicycleState(wheels_y=feet[1] - 3, x=feet[0] - facing * 0.1 * view.px_per_m(feet[1]), facing=facing)


def visits(p: Plan) -> list[tuple[float, float, list[tuple[float, Item]]]]:
    """Card-posting visits: each run of steps without walking (sidesteps along the facade aside) that leaves
    cards, as (start, end, [(t, item)])."""
    out: list[tuple[float, float, list[tuple[float, Item]]]] = []
    run: list[Span] = []
    for span in [*p.spans, None]:
        if span is not None and (not isinstance(span.step, Walk) or (run and span.step.sidestep)):
            run.append(span)
            continue
        left = [
            (s.t0 + _RAMP_S, item)
            for s in run
            if isinstance(s.step, Reach)
            for item in s.step.leaves
            if item.kind == "card"
        ]
        if left:
            out.append((run[0].t0, run[-1].t1, left))
        run = []
    return out


def placements(p: Plan) -> list[tuple[float, Item]]:
    """Every item the actor leaves and when it appears."""
    return [(s.t0 + _RAMP_S, item) for s in p.spans if isinstance(s.step, Reach) for item in s.step.leaves]
