"""card_posting rule: hand-made visits on an injected clock (walk-past, stop without posting, lighting, poster,
parked object, several cards, cooldown, a calibration's floor)."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from shopwatch.core.detect_config import CameraDetection
from shopwatch.core.events import EventType
from shopwatch.core.learnt import Learnt, ZoneCalibration
from shopwatch.models.noise_prior import encode_grid
from shopwatch.models.rules.card_posting import CardPosting
from shopwatch.models.zones import zone_shapes
from tests.models.handmade import Scene, person_at

CAMERA = CameraDetection.model_validate(
    {
        "zones": [
            {"name": "shopfront", "kind": "surface", "polygon": [[0.05, 0.1], [0.6, 0.1], [0.6, 0.75], [0.05, 0.75]]}
        ],
        "rules": {"card_posting": {"zones": ["shopfront"], "cooldown_s": 20}},
    }
)
CARD = (0.32, 0.45, 0.336, 0.47)  # ~10 x 7 px: a card on a 180 px tall person
SECOND_CARD = (0.26, 0.55, 0.276, 0.57)
WHITE, YELLOW = (250, 250, 245), (240, 220, 30)


def scene(**overrides: object) -> Scene:
    rule = CAMERA.rules.card_posting
    assert rule is not None
    config = rule.model_copy(update=overrides)
    return Scene([CardPosting("cam-1", config, [zone_shapes(CAMERA.zones)["shopfront"]])])


def visit(s: Scene, track: int = 1, stop_s: float = 2.0, leave: tuple = ()) -> None:  # type: ignore[type-arg]
    """Walk in from the right, stand at the shop front, stick ``leave`` on it at the end, walk out to the left."""
    s.walk(track, person_at(0.9), person_at(0.3), 1.5)
    s.stand(track, person_at(0.3), stop_s)
    s.stuck.extend(leave)
    s.walk(track, person_at(0.3), person_at(-0.2), 1.5)


def test_a_posted_card_fires_once_with_its_patch_and_the_visit_times() -> None:
    s = scene()
    s.idle(2)
    visit(s, leave=[(CARD, WHITE)])
    s.idle(5)
    assert len(s.events) == 1
    event = s.events[0]
    assert event.type is EventType.CARD_POSTING and event.zone == "shopfront" and event.track_id == 1
    assert event.evidence is not None and len(event.evidence.patches) == 1
    px1, py1, px2, py2 = event.evidence.patches[0]
    assert px1 <= CARD[2] and px2 >= CARD[0] and py1 <= CARD[3] and py2 >= CARD[1]  # the patch is the card
    assert event.start - 1_800_000_000.0 < 2.0 + 1.5  # contact began during the walk in
    assert event.end < event.detected_at <= event.end + 4.0  # fired hold_s after the actor left
    assert set(event.snapshots) == {"actor", "before", "after", "patch1"}  # patch1: the card magnified
    assert all(jpeg.startswith(b"\xff\xd8") for jpeg in event.snapshots.values())


def test_walking_past_does_not_fire_even_if_something_changes() -> None:
    s = scene()
    s.idle(2)
    s.walk(1, person_at(0.95), person_at(-0.1), 3.0)
    s.stuck.append((CARD, WHITE))
    s.idle(5)
    assert s.events == []


def test_stopping_without_posting_does_not_fire() -> None:
    s = scene()
    s.idle(2)
    visit(s, stop_s=3.0)
    s.idle(6)
    assert s.events == []


def test_a_lighting_change_after_a_stop_does_not_fire() -> None:
    s = scene()
    s.idle(2)
    visit(s)
    s.brightness = 1.4  # lights switched on in the shop
    s.idle(6)
    assert s.events == []


def test_a_card_is_still_found_when_the_light_changes_meanwhile() -> None:
    s = scene()
    s.idle(2)
    visit(s, leave=[(CARD, YELLOW)])
    s.brightness = 0.8
    s.idle(5)
    assert [e.type for e in s.events] == [EventType.CARD_POSTING]


def test_a_poster_is_too_large_to_be_a_card() -> None:
    s = scene()
    s.idle(2)
    visit(s, leave=[((0.22, 0.3, 0.36, 0.6), WHITE)])
    s.idle(6)
    assert s.events == []


def test_a_parked_object_that_leaves_again_does_not_fire() -> None:
    s = scene(hold_s=2.0)
    s.idle(2)
    visit(s, leave=[(CARD, YELLOW)])
    s.idle(1.0)
    s.stuck.clear()  # taken away before hold_s
    s.idle(8)
    assert s.events == []


def test_several_cards_in_one_visit_are_one_event_listing_each_patch() -> None:
    s = scene()
    s.idle(2)
    visit(s, leave=[(CARD, WHITE), (SECOND_CARD, YELLOW)])
    s.idle(5)
    assert len(s.events) == 1
    assert s.events[0].evidence is not None and len(s.events[0].evidence.patches) == 2


@pytest.mark.parametrize(("gap_s", "expected"), [(5.0, 1), (25.0, 2)])
def test_cooldown_swallows_a_second_visit_in_the_same_zone(gap_s: float, expected: int) -> None:
    s = scene()
    s.idle(2)
    visit(s, track=1, leave=[(CARD, WHITE)])
    s.idle(gap_s)
    visit(s, track=2, leave=[(SECOND_CARD, YELLOW)])
    s.idle(5)
    assert len(s.events) == expected


def test_detections_below_min_confidence_are_not_actors() -> None:
    s = scene(min_confidence=0.95)
    s.idle(2)
    visit(s, leave=[(CARD, WHITE)])
    s.idle(5)
    assert s.events == []


def _has_patch_on(event_patches: tuple, card: tuple) -> bool:  # type: ignore[type-arg]
    return any(p[0] <= card[2] and p[2] >= card[0] and p[1] <= card[3] and p[3] >= card[1] for p in event_patches)


def test_someone_standing_there_when_detection_starts_leaves_no_ghost() -> None:
    """The camera's first frames show a person in front of the surface: what they hid is learnt when they leave,
    so the next visit on that spot is judged against the wall, not against the person."""
    s = scene()
    s.stand(1, person_at(0.3), 2.0)
    s.walk(1, person_at(0.3), person_at(-0.2), 1.5)
    s.idle(1.0)
    visit(s, track=2, leave=[(CARD, WHITE)])
    s.idle(5)
    assert len(s.events) == 1
    assert s.events[0].evidence is not None and _has_patch_on(s.events[0].evidence.patches, CARD)


def test_a_stop_on_the_way_in_does_not_hide_the_real_visit_further_along() -> None:
    """A short stop where the actor came in (a pause, or a slow walk that looks like one), then a walk along the
    surface to the spot where the card goes: the card is found."""
    s = scene()
    s.idle(2)
    s.walk(1, person_at(0.9), person_at(0.52), 1.0)
    s.stand(1, person_at(0.52), 1.0)  # no card here
    s.walk(1, person_at(0.52), person_at(0.3), 1.0)
    s.stand(1, person_at(0.3), 2.0)
    s.stuck.append((CARD, WHITE))
    s.walk(1, person_at(0.3), person_at(-0.2), 1.5)
    s.idle(5)
    assert len(s.events) == 1
    assert s.events[0].evidence is not None and _has_patch_on(s.events[0].evidence.patches, CARD)


def test_what_the_first_frame_showed_for_an_instant_is_not_taken_for_a_card() -> None:
    """Rain, a flash, a bird: something in the camera's very first frame only is averaged away, not kept in the
    "before" picture as if it had been on the wall (where its absence would then look like a new patch)."""
    s = scene()
    s.stuck.append((CARD, WHITE))
    s.step()
    s.stuck.clear()
    visit(s)  # stops on that spot at once and leaves nothing
    s.idle(6)
    assert s.events == []


def calibration(suggested: int) -> ZoneCalibration:
    """The shop front measured quiet (noise 2 grey levels everywhere) by day, suggesting ``suggested``."""
    rows, cols, grid = encode_grid(np.full((170, 250), 2.0, np.float32))
    return ZoneCalibration(
        zone="shopfront", band="day", measured_at=datetime(2026, 12, 1, tzinfo=UTC), luma=140.0, frame_width=640,
        frame_height=360, rows=rows, cols=cols, noise=grid, noise_median=2.0, noise_p90=2.0,
        suggested_diff_threshold=suggested, frames=60, skipped=0,
    )  # fmt: skip


@pytest.mark.parametrize(("suggested", "expected"), [(None, 1), (20, 1), (160, 0)])
def test_a_calibrations_suggested_threshold_raises_the_surfaces_floor(suggested: int | None, expected: int) -> None:
    """A grey card ~100 grey levels off the wall: found with the default floor 25 and with a calibration that
    suggests less; a calibration whose noise needs 160 makes it a change too small to count on that zone."""
    rule = CAMERA.rules.card_posting
    assert rule is not None
    learnt = Learnt(calibrations=() if suggested is None else (calibration(suggested),))
    s = Scene([CardPosting("cam-1", rule, [zone_shapes(CAMERA.zones)["shopfront"]], learnt)])
    s.idle(2)
    visit(s, leave=[(CARD, (60, 60, 40))])
    s.idle(5)
    assert len(s.events) == expected
