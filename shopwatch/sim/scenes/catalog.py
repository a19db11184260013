"""The scene set: what happens in each clip. Layout, people, cards and timings vary with the seed; what each
clip is for (its name, tags, rules and the events it must produce) does not.

Counts per set: 11 card-posting visits (door, shutter and wall; day and night; one to three cards; noise, rain,
passers-by, a wide view with small figures), 3 loiterers, 3 after-hours intruders, and negatives: people passing
by day and night, someone stopping at a door, lights switching on, a poster hung, rain, a parked bicycle, and
someone in the forecourt by day (inside the zone, outside the hours).

The hard set, where real video differs from a clean rendering: encoded at CRF 25-30 like real substreams
(blocking, flicker on edges), a low sun throwing each person's soft shadow on the wall as they move, a shadow
band crossing a door with nobody there, people passing between the camera and the facade during and after a
visit, someone leaning beside a door and someone standing still at a shutter for a minute (both leave nothing).
Positives: ``post_low_sun_wall_day``, ``post_passers_between_day``, ``post_coarse_night_shutter``; negatives:
``lean_beside_door_day``, ``stand_minute_shutter_day``, ``stop_passers_between_day``, ``shadow_after_stop_day``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from shopwatch.sim.scenes import actors, script, shopfront
from shopwatch.sim.scenes.render import CRF, Scene, Sweep
from shopwatch.sim.scenes.script import Actor
from shopwatch.sim.scenes.shopfront import CLOSE, WIDE, Lighting, Shopfront, View

DWELL_S = 15  # loitering threshold in the clips' camera files: short clips, still far above a walk-by
HOURS = "22:00-06:00"
AFTER_LAST_S = 3.0  # a card-posting clip goes on this long after the last person left the picture
SURFACES = ["door", "shutter", "wall"]


Rules = dict[str, dict[str, object]]


def rules(*, card: bool = True, loiter: bool = True, intrusion: bool = True) -> Rules:
    out: Rules = {}
    if card:
        out["card_posting"] = {"zones": list(SURFACES)}
    if loiter:
        out["loitering"] = {"zones": ["sidewalk"], "dwell_s": DWELL_S}
    if intrusion:
        out["intrusion"] = {"zones": ["forecourt"], "hours": HOURS}
    return out


@dataclass(frozen=True)
class Extras:
    """What varies between clips of the same kind."""

    seconds: float | None = None  # at least this long (default: enough for the visits)
    grain: float | None = None  # default: 2 by day, 5 at night
    rain_drops: int = 0
    tags: tuple[str, ...] = ()
    rules: Rules | None = None  # default: all three; no intrusion rule at night where people go to the facade
    passers: tuple[float, ...] = ()  # start times of people walking past
    hour: int | None = None  # local hour of the first frame; default 14 or 23
    coarse: bool = False  # encoded at a CRF of 25-30 (drawn from the seed) instead of the simulated cameras' 23
    low_sun: bool = False  # people near the facade throw a soft shadow on the wall (daylight only)


class _Builder:
    """Shared set-up of one scene: its own random stream, facade, time of day and lighting."""

    def __init__(self, name: str, seed: int, view: View, *, night: bool, extras: Extras) -> None:
        self.name = name
        self.extras = extras
        self.rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        # The hard set's draws come from a stream of their own: the older scenes stay byte-identical.
        look = np.random.default_rng([seed, zlib.crc32(name.encode()), 30])
        self.crf = int(look.integers(25, 31)) if extras.coarse else CRF
        self.wall_shadow = (
            (float(look.choice([-1.0, 1.0]) * look.uniform(0.15, 0.3)), float(-look.uniform(0.0, 0.06)))
            if extras.low_sun and not night
            else None
        )
        self.sweeps: tuple[Sweep, ...] = ()
        self.front: Shopfront = shopfront.build(view, self.rng)
        self.night = night
        hour = extras.hour if extras.hour is not None else (23 if night else 14)
        day = datetime(2025, 3, 12 if hour >= 12 else 13)
        minute = int(self.rng.integers(0, 40))
        self.start_time = day + timedelta(hours=hour, minutes=minute, seconds=int(self.rng.integers(60)))
        self.lighting: tuple[tuple[float, Lighting], ...] = (
            (
                0.0,
                shopfront.night(self.front, self.rng, shop_lights=bool(self.rng.random() < 0.5))
                if night
                else shopfront.daylight(self.rng),
            ),
        )

    def scene(self, seconds: float, people: list[Actor], tags: list[str]) -> Scene:
        extras = self.extras
        return Scene(
            name=self.name,
            seconds=max(extras.seconds or 0.0, seconds),
            front=self.front,
            lighting=self.lighting,
            actors=tuple(people),
            start_time=self.start_time,
            tags=("night" if self.night else "day", *tags, *extras.tags),
            rules=extras.rules if extras.rules is not None else rules(intrusion=not self.night),
            day=not self.night,
            grain=extras.grain if extras.grain is not None else (5.0 if self.night else 2.0),
            rain_drops=extras.rain_drops,
            crf=self.crf,
            wall_shadow=self.wall_shadow,
            sweeps=self.sweeps,
        )

    def side(self) -> int:
        return -1 if self.rng.random() < 0.5 else 1

    def walkers(self, starts: list[float]) -> list[Actor]:
        return [actors.walker(self.front, self.rng, s, day=not self.night, side=self.side()) for s in starts]


def _posting(name: str, seed: int, view: View, night: bool, where: list[tuple[str, int]], extras: Extras) -> Scene:
    """Card-posting visits one after another (every 14 s), optionally with people passing and rain."""
    b = _Builder(name, seed, view, night=night, extras=extras)
    people = [
        actors.card_poster(b.front, b.rng, 0.5 + 14.0 * i, spot, day=not night, side=b.side())
        for i, spot in enumerate(where)
    ]
    people += b.walkers(list(extras.passers))
    cards = sum(count for _, count in where)
    tags = ["card_posting", *sorted({surface for surface, _ in where}), f"cards:{cards}"]
    # A live camera goes on filming after a visit: the clip lasts until everyone has left the picture and then
    # some, so the last visit's cards can be seen to stay (in a wide view, walking out takes several seconds).
    left_s = max(script.plan(actor, b.front.view).end_s for actor in people)
    return b.scene(max(16.0 + 14.0 * (len(where) - 1), left_s + AFTER_LAST_S), people, tags)


def _negative(
    name: str, seed: int, view: View, night: bool, cast: Callable[[_Builder], list[Actor]], extras: Extras
) -> Scene:
    b = _Builder(name, seed, view, night=night, extras=extras)
    return b.scene(18.0, cast(b), ["negative"])


def _lights_on(name: str, seed: int) -> Scene:
    b = _Builder(name, seed, CLOSE, night=True, extras=Extras(rules=rules(), tags=("lighting",)))
    dark = shopfront.night(b.front, np.random.default_rng([seed, 1]), shop_lights=False)
    lit = shopfront.night(b.front, np.random.default_rng([seed, 1]), shop_lights=True)
    b.lighting = ((0.0, dark), (6.0, lit))
    return b.scene(18.0, b.walkers([9.0]), ["negative"])


def _poster(name: str, seed: int) -> Scene:
    b = _Builder(name, seed, CLOSE, night=False, extras=Extras(tags=("poster",)))
    hanger, _ = actors.poster_hanger(b.front, b.rng, 0.5)
    return b.scene(18.0, [hanger], ["negative"])


def _loiter(name: str, seed: int, view: View, night: bool, extras: Extras = Extras()) -> Scene:
    b = _Builder(name, seed, view, night=night, extras=replace(extras, rules=rules()))
    people = [actors.loiterer(b.front, b.rng, 0.5, stay_s=float(b.rng.uniform(19, 23)), day=not night)]
    people += b.walkers([float(b.rng.uniform(4, 8)), float(b.rng.uniform(16, 20))])
    return b.scene(32.0, people, ["loitering"])


def _intrusion(name: str, seed: int, view: View, extras: Extras) -> Scene:
    b = _Builder(name, seed, view, night=True, extras=replace(extras, rules=rules()))
    people = [actors.intruder(b.front, b.rng, 0.5, side=b.side())]
    people += b.walkers([float(b.rng.uniform(8, 12))])
    return b.scene(20.0, people, ["intrusion"])


def _passers_between(name: str, seed: int, post: bool) -> Scene:
    """A visit to the shutter (posting a card, or stopping and leaving nothing) with one person passing between the
    camera and the shutter in the middle of it and another one second after it ended, in front of its spot."""
    tags = ("between", "crf")
    b = _Builder(name, seed, CLOSE, night=False, extras=Extras(coarse=True, tags=tags))
    if post:
        actor = actors.card_poster(b.front, b.rng, 0.5, ("shutter", 1), day=True, side=b.side())
        start_s, end_s, left = script.visits(script.plan(actor, b.front.view))[0]
        x = (left[0][1].box[0] + left[0][1].box[2]) / 2
    else:
        actor = actors.stopper(b.front, b.rng, 0.5, side=b.side(), surface="shutter")
        start_s, end_s = _stop_span(script.plan(actor, b.front.view))
        x0, _, x1, _ = b.front.surface("shutter").box
        x = (x0 + x1) / 2
    people = [
        actor,
        actors.between(b.front, b.rng, x, (start_s + end_s) / 2, day=True, side=b.side()),
        actors.between(b.front, b.rng, x, end_s + 1.0, day=True, side=b.side()),
    ]
    left_s = max(script.plan(a, b.front.view).end_s for a in people)
    kind = ["card_posting", "shutter", "cards:1"] if post else ["negative"]
    return b.scene(max(16.0, left_s + AFTER_LAST_S), people, kind)


def _stop_span(p: script.Plan) -> tuple[float, float]:
    """From arriving at the facade to walking off (a stopper's first and last walks)."""
    walks = [span for span in p.spans if isinstance(span.step, script.Walk)]
    return walks[0].t1, walks[-1].t0


def _shadow_after_stop(name: str, seed: int) -> Scene:
    """Someone stops at the door and leaves nothing; two seconds after they walked off, with nobody at the door,
    a soft shadow band (a lorry passing in the low sun) crosses it."""
    b = _Builder(name, seed, CLOSE, night=False, extras=Extras(coarse=True, low_sun=True, tags=("shadow", "crf")))
    stopper = actors.stopper(b.front, b.rng, 0.5, side=b.side())
    _, left_s = _stop_span(script.plan(stopper, b.front.view))
    x0, _, x1, _ = b.front.surface("door").box
    width = float(b.rng.uniform(1.0, 1.6)) * (x1 - x0)
    d = b.side()
    start, end = (x0 - width, x1 + width) if d > 0 else (x1 + width, x0 - width)
    b.sweeps = (Sweep(left_s + 2.0, left_s + 2.0 + float(b.rng.uniform(3.0, 5.0)), start, end, width, 0.35,
                      b.front.view.wall_base_y, float(b.rng.uniform(-0.4, 0.4))),)  # fmt: skip
    return b.scene(max(18.0, left_s + 9.0), [stopper], ["negative"])


def _lean(name: str, seed: int) -> Scene:
    b = _Builder(name, seed, CLOSE, night=False, extras=Extras(coarse=True, low_sun=True, tags=("lean", "crf")))
    people = [actors.leaner(b.front, b.rng, 0.5, "door", stay_s=float(b.rng.uniform(6.0, 9.0)), side=b.side())]
    return b.scene(max(18.0, script.plan(people[0], b.front.view).end_s + 1.0), people, ["negative"])


def _stand_minute(name: str, seed: int) -> Scene:
    b = _Builder(name, seed, CLOSE, night=False, extras=Extras(coarse=True, low_sun=True, tags=("still", "crf")))
    people = [actors.still_stander(b.front, b.rng, 0.5, "shutter", stay_s=60.0, side=b.side())]
    return b.scene(script.plan(people[0], b.front.view).end_s + 1.0, people, ["negative"])


SceneBuilder = Callable[[str, int], Scene]
_WIDE, _NOISE, _RAIN = ("wide",), ("noise",), ("rain",)

SCENES: dict[str, SceneBuilder] = {
    "post_door_day": lambda n, s: _posting(n, s, CLOSE, False, [("door", 1)], Extras()),
    "post_shutter_night": lambda n, s: _posting(n, s, CLOSE, True, [("shutter", 2)], Extras()),
    "post_wall_day_three": lambda n, s: _posting(n, s, CLOSE, False, [("wall", 3)], Extras(seconds=20.0)),
    "post_door_night_noisy": lambda n, s: _posting(n, s, CLOSE, True, [("door", 1)], Extras(grain=8.0, tags=_NOISE)),
    "post_two_visits_day": lambda n, s: _posting(n, s, CLOSE, False, [("door", 1), ("shutter", 1)], Extras()),
    "post_wide_day": lambda n, s: _posting(n, s, WIDE, False, [("shutter", 1)], Extras(tags=_WIDE)),
    "post_with_passers_day": lambda n, s: _posting(
        n, s, CLOSE, False, [("shutter", 1)], Extras(passers=(1.0, 6.0, 11.0), seconds=20.0, tags=("passers",))
    ),
    "post_rain_night": lambda n, s: _posting(n, s, CLOSE, True, [("door", 1)], Extras(rain_drops=220, tags=_RAIN)),
    "post_wide_night_two": lambda n, s: _posting(n, s, WIDE, True, [("door", 2)], Extras(tags=_WIDE)),
    "post_quick_wall_day": lambda n, s: _posting(n, s, CLOSE, False, [("wall", 1)], Extras(seconds=14.0)),
    "walk_past_day": lambda n, s: _negative(n, s, CLOSE, False, lambda b: b.walkers([0.5, 3.0, 7.5, 8.0]), Extras()),
    "walk_past_night": lambda n, s: _negative(
        n, s, WIDE, True, lambda b: b.walkers([0.5, 5.0, 9.0]), Extras(rules=rules(), tags=_WIDE)
    ),
    "stop_at_door_day": lambda n, s: _negative(
        n, s, CLOSE, False, lambda b: [actors.stopper(b.front, b.rng, 0.5, side=b.side())], Extras(tags=("stop",))
    ),
    "lights_on_night": _lights_on,
    "poster_hung_day": _poster,
    "rain_walkers_night": lambda n, s: _negative(
        n, s, CLOSE, True, lambda b: b.walkers([1.0, 8.0]), Extras(rain_drops=260, rules=rules(), tags=_RAIN)
    ),
    "bicycle_parked_day": lambda n, s: _negative(
        n,
        s,
        CLOSE,
        False,
        lambda b: [actors.cyclist(b.front, b.rng, 0.5, away_s=12.0)],
        Extras(seconds=34.0, tags=("parked_object",)),
    ),
    "forecourt_day": lambda n, s: _negative(
        n,
        s,
        CLOSE,
        False,
        lambda b: [actors.intruder(b.front, b.rng, 0.5, side=b.side())],
        Extras(hour=15, tags=("forecourt",)),
    ),
    "loiter_day": lambda n, s: _loiter(n, s, CLOSE, False),
    "loiter_night": lambda n, s: _loiter(n, s, CLOSE, True),
    "loiter_wide_day": lambda n, s: _loiter(n, s, WIDE, False, Extras(tags=_WIDE)),
    "intrusion_night": lambda n, s: _intrusion(n, s, CLOSE, Extras(hour=23)),
    "intrusion_late_wide": lambda n, s: _intrusion(n, s, WIDE, Extras(hour=3, tags=_WIDE)),
    "intrusion_rain": lambda n, s: _intrusion(n, s, CLOSE, Extras(hour=1, rain_drops=200, tags=_RAIN)),
    # the hard set (see the module's docstring)
    "post_low_sun_wall_day": lambda n, s: _posting(
        n, s, CLOSE, False, [("wall", 1)], Extras(coarse=True, low_sun=True, tags=("low_sun", "crf"))
    ),
    "post_passers_between_day": lambda n, s: _passers_between(n, s, post=True),
    "post_coarse_night_shutter": lambda n, s: _posting(
        n, s, CLOSE, True, [("shutter", 1)], Extras(coarse=True, grain=6.0, tags=("noise", "crf"))
    ),
    "lean_beside_door_day": _lean,
    "stand_minute_shutter_day": _stand_minute,
    "stop_passers_between_day": lambda n, s: _passers_between(n, s, post=False),
    "shadow_after_stop_day": _shadow_after_stop,
}


HARD: tuple[str, ...] = (
    "post_low_sun_wall_day",
    "post_passers_between_day",
    "post_coarse_night_shutter",
    "lean_beside_door_day",
    "stand_minute_shutter_day",
    "stop_passers_between_day",
    "shadow_after_stop_day",
)  # the hard set (see the module's docstring)


def build(name: str, seed: int) -> Scene:
    try:
        builder = SCENES[name]
    except KeyError:
        raise KeyError(f"expected a scene name among {sorted(SCENES)}, found {name!r}") from None
    return builder(name, seed)
