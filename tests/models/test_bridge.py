"""MotionBridge: a person the detector lost is carried on the motion that goes on where they were heading, with
their id and score; not on motion elsewhere, small motion, or after the motion stops; and handed back when the
detector finds them again."""

from __future__ import annotations

from shopwatch.core.detections import Detections
from shopwatch.core.events import Box
from shopwatch.models.bridge import MAX_GAP_S, MotionBridge

DT = 1 / 6


def person(x: float, height: float = 0.4, feet: float = 0.8) -> Box:
    return (x, feet - height, x + 0.08, feet)


def tracked(*people: tuple[int, Box]) -> Detections:
    return Detections.build(
        [b for _, b in people] or [[0, 0, 0, 0]][:0], [0.8] * len(people), None, [i for i, _ in people]
    )


def blobs(*boxes: Box) -> Detections:
    return Detections.build(list(boxes) or [[0, 0, 0, 0]][:0], [1.0] * len(boxes))


def walk_in(bridge: MotionBridge, steps: int = 6) -> tuple[float, float]:
    """Track 3 walks right at 0.12 of the frame per second; returns the time and x of its last detection."""
    t, x = 0.0, 0.3
    for _ in range(steps):
        bridge.update(t, tracked((3, person(x))), blobs(person(x)))
        t, x = t + DT, x + 0.02
    return t - DT, x - 0.02


def test_a_person_lost_at_a_door_is_carried_on_their_reaching_arm() -> None:
    bridge = MotionBridge()
    t, x = walk_in(bridge)
    t += DT
    assert len(bridge.update(t, tracked(), blobs())) == 0  # lost, and no motion in this frame: nothing shown
    t += 3 * DT  # where the walk was heading, 4 frames later: the upper body moves (an arm at the door)
    arm = (x + 0.085, 0.45, x + 0.145, 0.62)
    got = bridge.update(t, tracked(), blobs(arm))
    assert got.track_ids.tolist() == [3] and got.scores.tolist() == [0.800000011920929]
    box = got.boxes[0]
    assert abs((box[0] + box[2]) / 2 - (arm[0] + arm[2]) / 2) < 1e-6  # centred on the motion
    assert abs(box[3] - 0.8) < 1e-6 and abs((box[3] - box[1]) - 0.4) < 1e-6  # the person's height, feet where they were
    for _ in range(30):  # five seconds of reaching: carried all along
        t += DT
        assert bridge.update(t, tracked(), blobs(arm)).track_ids.tolist() == [3]


def test_not_carried_on_small_or_distant_motion_nor_after_it_stops() -> None:
    bridge = MotionBridge()
    t, x = walk_in(bridge)
    t += DT
    leaf = (x + 0.03, 0.5, x + 0.05, 0.55)  # 0.05 tall: not a person's motion
    elsewhere = (0.05, 0.4, 0.13, 0.8)  # person-sized, far behind
    assert len(bridge.update(t, tracked(), blobs(leaf, elsewhere))) == 0
    t += DT
    assert bridge.update(t, tracked(), blobs(person(x + 0.04))).track_ids.tolist() == [3]
    t += MAX_GAP_S + DT  # no motion for longer than the gap: gone
    assert len(bridge.update(t, tracked(), blobs())) == 0
    t += DT
    assert len(bridge.update(t, tracked(), blobs(person(x + 0.04)))) == 0  # and not revived by later motion


def test_a_detection_there_again_takes_over() -> None:
    bridge = MotionBridge()
    t, x = walk_in(bridge)
    t += DT
    assert bridge.update(t, tracked(), blobs(person(x + 0.02))).track_ids.tolist() == [3]
    t += DT
    again = bridge.update(t, tracked((9, person(x + 0.02))), blobs(person(x + 0.02)))  # the tracker's new id
    assert again.track_ids.tolist() == [9]
    t += DT
    assert bridge.update(t, tracked(), blobs()).track_ids.tolist() == []  # 9 lost now, nothing left of 3


def test_not_carried_on_a_smeared_blob_nor_when_seen_only_once() -> None:
    bridge = MotionBridge()
    t, x = walk_in(bridge)
    smeared = (x - 0.1, 0.4, x + 0.12, 0.8)  # motion of several frames: 2.75 times the person's width
    assert len(bridge.update(t + DT, tracked(), blobs(smeared))) == 0
    once = MotionBridge()
    once.update(0.0, tracked((4, person(0.3))), blobs(person(0.3)))  # a track's first detection
    assert len(once.update(DT, tracked(), blobs(person(0.3)))) == 0  # nothing known of how it moves
