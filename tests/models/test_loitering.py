"""loitering rule: dwell, detection gaps, a new track id after an occlusion, walk-through, cooldown."""

from __future__ import annotations

from shopwatch.core.detect_config import LoiteringRule, Zone
from shopwatch.core.events import EventType
from shopwatch.models.rules.loitering import Loitering
from shopwatch.models.zones import ZoneShape
from tests.models.handmade import Scene, path, person_at

START = 1_800_000_000.0  # the scene clock's first wall time
SIDEWALK = ZoneShape.of(Zone(name="sidewalk", kind="area", polygon=[(0.0, 0.6), (1.0, 0.6), (1.0, 1.0), (0.0, 1.0)]))


def scene(**overrides: object) -> Scene:
    config = LoiteringRule.model_validate({"zones": ["sidewalk"], "dwell_s": 20, **overrides})
    s = Scene([Loitering("cam-1", config, [SIDEWALK])], noise=0.0)
    return s


def test_a_person_staying_fires_once_when_the_dwell_is_reached() -> None:
    s = scene()
    s.stand(1, person_at(0.5), 30)
    assert [e.type for e in s.events] == [EventType.LOITERING]
    event = s.events[0]
    assert event.end - event.start >= 20 and event.end - event.start < 20.5
    assert event.track_id == 1 and event.confidence > 0.8 and "actor" in event.snapshots


def test_short_detection_gaps_keep_the_dwell() -> None:
    s = scene()
    for _ in range(6):
        s.stand(1, person_at(0.5), 3)
        s.idle(2)  # missed for 2 s (< max_gap_s 3)
    assert len(s.events) == 1


def test_a_long_gap_restarts_the_dwell() -> None:
    s = scene()
    s.stand(1, person_at(0.5), 15)
    s.idle(5)
    s.stand(1, person_at(0.5), 15)
    assert s.events == []


def test_a_new_track_id_after_an_occlusion_keeps_the_dwell() -> None:
    s = scene()
    s.stand(1, person_at(0.5), 12)
    s.idle(1)
    s.stand(7, person_at(0.52), 12)  # the tracker gave the same person a new id
    assert len(s.events) == 1 and s.events[0].track_id == 7


def test_walking_through_is_not_loitering() -> None:
    s = scene()
    s.walk(1, person_at(0.0), person_at(1.0), 8)
    assert s.events == []


def test_outside_the_zone_is_not_loitering() -> None:
    s = scene()
    s.stand(1, person_at(0.5, bottom=0.5), 30)  # feet above the sidewalk
    assert s.events == []


def test_cooldown_swallows_a_second_loiterer_then_lets_one_through() -> None:
    s = scene(cooldown_s=60)
    s.stand(1, person_at(0.3), 25)
    s.stand(2, person_at(0.8), 25)  # 25 s later: within the cooldown
    s.idle(20)
    s.stand(3, person_at(0.5), 25)  # past the cooldown
    assert [e.track_id for e in s.events] == [1, 3]


def test_a_walker_crossing_a_loiterer_does_not_take_the_dwell_away() -> None:
    """As ByteTrack does when someone walks past a person standing still: their boxes merge, and from then on
    the walker carries the stander's id and the stander a new one. The dwell stays with the stander."""
    s = scene()
    stander = person_at(0.5)
    s.stand(1, stander, 10)
    for box in path(person_at(0.1), person_at(0.9), 4):  # the walker, id 2, passes in front
        crossed = box[0] > stander[0]  # past the stander's middle: the tracker has swapped them
        s.step([(2, stander), (1, box)] if crossed else [(1, stander), (2, box)])
    s.stand(2, stander, 12)  # 26 s in all: the dwell of 20 s is reached 6 s after the crossing
    assert [(e.type, e.track_id) for e in s.events] == [(EventType.LOITERING, 2)]
    assert s.events[0].start == START  # counted from the first frame


def test_two_people_standing_together_keep_their_own_dwell() -> None:
    s = scene()
    for _ in range(round(25 * 6)):  # overlapping boxes for 25 s: nobody's dwell jumps to the other
        s.step([(1, person_at(0.5)), (2, person_at(0.53))])
    assert sorted(e.track_id for e in s.events) == [1]  # the second one is within the first's cooldown
    assert s.events[0].start == START  # counted from the first frame


def test_someone_coming_in_where_another_walked_out_starts_their_own_dwell() -> None:
    s = scene()
    s.walk(1, person_at(0.5), person_at(1.02), 12)  # slowly out of view on the right
    s.idle(1)
    s.stand(2, person_at(0.97), 12)  # 25 s since the first came in, but 12 s of this one
    assert s.events == []
