"""intrusion rule: closed hours across midnight, minimum presence, cooldown."""

from __future__ import annotations

from datetime import time

import pytest

from shopwatch.core.detect_config import IntrusionRule, Zone
from shopwatch.core.events import EventType
from shopwatch.models.rules.intrusion import Intrusion
from shopwatch.models.zones import ZoneShape
from tests.models.handmade import Scene, person_at

SIDEWALK = ZoneShape.of(Zone(name="sidewalk", kind="area", polygon=[(0.0, 0.6), (1.0, 0.6), (1.0, 1.0), (0.0, 1.0)]))


def scene(local: time, **overrides: object) -> Scene:
    config = IntrusionRule.model_validate({"zones": ["sidewalk"], "hours": "22:00-06:00", **overrides})
    return Scene([Intrusion("cam-1", config, [SIDEWALK])], noise=0.0, local_time=local)


@pytest.mark.parametrize(
    ("local", "fires"),
    [
        (time(23, 30), True),
        (time(0, 0), True),
        (time(5, 59), True),
        (time(6, 0), False),
        (time(12, 0), False),
        (time(21, 59), False),
        (time(22, 0), True),
    ],
)
def test_closed_hours_cross_midnight(local: time, fires: bool) -> None:
    s = scene(local)
    s.stand(1, person_at(0.5), 3)
    assert [e.type for e in s.events] == ([EventType.INTRUSION] if fires else [])


def test_a_single_frame_is_not_an_intruder() -> None:
    s = scene(time(2, 0))
    s.stand(1, person_at(0.5), 1 / 6)
    s.idle(5)
    assert s.events == []


def test_one_event_per_intruder_and_cooldown_per_zone() -> None:
    s = scene(time(2, 0), cooldown_s=30)
    s.stand(1, person_at(0.5), 10)
    s.stand(2, person_at(0.2), 5)  # within the cooldown
    s.idle(30)
    s.stand(3, person_at(0.5), 3)
    assert [e.track_id for e in s.events] == [1, 3]


def test_a_person_outside_the_area_is_ignored() -> None:
    s = scene(time(2, 0))
    s.stand(1, person_at(0.5, bottom=0.4), 5)
    assert s.events == []


@pytest.mark.parametrize("hours", ["22:00-22:00", "24:00-06:00", "10-12", "22:00 - 06:00"])
def test_hours_are_validated(hours: str) -> None:
    with pytest.raises(ValueError, match="hours"):
        IntrusionRule.model_validate({"zones": ["sidewalk"], "hours": hours})
