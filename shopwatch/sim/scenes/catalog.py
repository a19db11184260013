"""The scene set: what happens in each clip. Layout, people, cards and timings vary with the seed; what each
clip is for (its name, tags, rules and the events it must produce) does not.

Counts per set: 11 card-posting visits (door, shutter and wall; day and night; one to three cards; noise, rain,
passers-by, a wide view with small figures), 3 loiterers, 3 after-hours intruders, and negatives: people passing
by day and night, someone stopping at a door, lights switching on, a poster hung, rain, a parked bicycle, and
someone in the forecourt by day (inside the zone, outside the hours).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np

from shopwatch.sim.scenes import actors, script, shopfront
from shopwatch.sim.scenes.render import Scene
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


class _Builder:
    """Shared set-up of one scene: its own random stream, facade, time of day and lighting."""

    def __init__(self, name: str, seed: int, view: View, *, night: bool, extras: Extras) -> None:
        self.name = name
        self.extras = extras
        self.rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
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
}


def build(name: str, seed: int) -> Scene:
    try:
        builder = SCENES[name]
    except KeyError:
        raise KeyError(f"expected a scene name among {sorted(SCENES)}, found {name!r}") from None
    return builder(name, seed)
