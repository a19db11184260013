"""Ignored spots in the card-posting rule: a spot taught from a false positive while the camera runs suppresses
the same patch later (counted), leaves a card elsewhere on the surface alone, and clearing it brings the event
back; the pipeline takes new spots without restarting the camera's detection state."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopwatch.core.clock import ManualClock
from shopwatch.core.config import CameraConfig
from shopwatch.core.consumer import CameraFeed
from shopwatch.core.detect_config import CameraDetection, DetectSettings
from shopwatch.core.frame import Frame
from shopwatch.core.learnt import IgnoredSpot, Learnt, ZoneCalibration, inside_fraction, spot_box
from shopwatch.models.detect_thread import DetectionThread
from shopwatch.models.pipeline import Pipeline
from shopwatch.models.rules.card_posting import CardPosting
from tests.models.handmade import H, Scene, W, wall_texture
from tests.models.test_card_posting import CAMERA, CARD, SECOND_CARD, WHITE, YELLOW, scene, visit

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def spot(box: tuple[float, float, float, float], zone: str = "shopfront") -> IgnoredSpot:
    return IgnoredSpot(id="s1", zone=zone, box=spot_box(box), event_id="ev", created_by="olga", created_at=T0)


def repost(s: Scene, track: int, leave: list) -> None:  # type: ignore[type-arg]
    """Take what is on the wall off, let the surface settle and the cooldown pass, then post ``leave`` again."""
    s.stuck.clear()
    s.idle(22)
    visit(s, track=track, leave=leave)
    s.idle(5)


def test_a_spot_taught_while_running_suppresses_that_patch_until_cleared() -> None:
    s = scene()
    rule = s.rules[0]
    assert isinstance(rule, CardPosting)
    s.idle(2)
    visit(s, leave=[(CARD, WHITE)])
    s.idle(5)
    [first] = s.events
    assert first.evidence is not None
    rule.set_spots([spot(first.evidence.patches[0])])  # the operator: false positive, ignore this spot

    repost(s, 2, [(CARD, WHITE)])
    assert len(s.events) == 1 and rule.suppressed_by_spots == 1

    repost(s, 3, [(CARD, YELLOW), (SECOND_CARD, WHITE)])  # a card elsewhere on the surface still fires
    assert len(s.events) == 2 and rule.suppressed_by_spots == 1
    assert s.events[1].evidence is not None
    [kept] = s.events[1].evidence.patches
    assert inside_fraction(kept, spot_box(SECOND_CARD)) > 0.5

    rule.set_spots([])  # the admin cleared it
    repost(s, 4, [(CARD, WHITE)])
    assert len(s.events) == 3 and rule.suppressed_by_spots == 1


def test_a_spot_on_another_zone_suppresses_nothing_here() -> None:
    s = scene()
    rule = s.rules[0]
    assert isinstance(rule, CardPosting)
    rule.set_spots([spot(CARD, zone="other-wall")])
    s.idle(2)
    visit(s, leave=[(CARD, WHITE)])
    s.idle(5)
    assert len(s.events) == 1 and rule.suppressed_by_spots == 0


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        (CARD, 1.0),  # the same patch
        ((CARD[0] + 0.004, CARD[1] + 0.006, CARD[2] + 0.004, CARD[3] + 0.006), 1.0),  # found 2-3 px off
        ((CARD[0] + 0.02, CARD[1], CARD[2] + 0.02, CARD[3]), 0.25),  # mostly beside it: raised
        ((0.5, 0.5, 0.52, 0.52), 0.0),
    ],
)
def test_how_much_of_a_patch_lies_in_the_spot_its_twin_taught(
    patch: tuple[float, float, float, float], expected: float
) -> None:
    assert inside_fraction(patch, spot_box(CARD)) == pytest.approx(expected, abs=0.05)


def _frame(seq: int, t: float) -> Frame:
    image = wall_texture().clip(0, 255).astype("uint8")
    assert image.shape == (H, W, 3)
    return Frame("cam-1", image, pts_s=t, wall_time=t, keyframe=False, seq=seq)


def test_the_pipeline_takes_new_spots_without_restarting_the_camera() -> None:
    pipeline = Pipeline(DetectSettings(), None, ManualClock(), 6.0)
    pipeline.set_camera("cam-1", CAMERA)
    pipeline.process([_frame(i, 1000 + i / 6) for i in range(3)])
    [health] = pipeline.health()
    assert (health.frames, health.calibration, health.ignored_spots) == (3, "default", 0)

    taught = CAMERA.model_copy(update={"learnt": Learnt(spots=(spot(CARD),))})
    pipeline.set_camera("cam-1", taught)
    [health] = pipeline.health()
    assert (health.frames, health.ignored_spots) == (3, 1)  # same state: frames counted on

    zones = CameraDetection.model_validate({**CAMERA.model_dump(), "motion_mask": [[[0, 0], [0.1, 0], [0, 0.1]]]})
    pipeline.set_camera("cam-1", zones.model_copy(update={"learnt": taught.learnt}))
    [health] = pipeline.health()
    assert (health.frames, health.ignored_spots) == (0, 1)  # a real config edit starts the camera over


class _NoFrames:
    def get(self, timeout: float | None = None) -> None:  # noqa: ARG002
        return None

    def drain(self) -> list[Frame]:
        return []


def test_a_cameras_health_says_calibration_and_spots_before_its_first_frame() -> None:
    calibration = ZoneCalibration.model_validate({
        "zone": "shopfront", "band": "day", "measured_at": T0, "luma": 120.0, "frame_width": 640,
        "frame_height": 360, "rows": 1, "cols": 2, "noise": "eNoTUAAAAEIAMQ==", "noise_median": 2.0,
        "noise_p90": 4.0, "suggested_diff_threshold": 8, "frames": 100, "skipped": 3,
    })  # fmt: skip
    plain = CameraConfig.model_validate({"id": "plain", "name": "P", "host": "127.0.0.1", "grid": "g",
                                         "detection": CAMERA.model_dump()})  # fmt: skip
    learnt = Learnt(calibrations=(calibration,), spots=(spot(CARD),))
    taught = plain.model_copy(update={"id": "taught", "detection": CAMERA.model_copy(update={"learnt": learnt})})

    class Sink:
        def submit(self, event: object) -> bool:  # noqa: ARG002
            return True

    thread = DetectionThread(DetectSettings(model=None), 6.0, Sink(), poll_s=3600)
    try:
        thread.set_feeds({c.id: CameraFeed(c, _NoFrames()) for c in (plain, taught)})
        thread.run_once()
        health = thread.health()
        assert (health["plain"].calibration, health["plain"].ignored_spots) == ("default", 0)
        assert (health["taught"].calibration, health["taught"].ignored_spots) == ("2026-12-01T00:00:00Z", 1)
        assert health["taught"].suppressed_by_spots == 0
    finally:
        thread.close()
