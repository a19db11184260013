"""The worker's post-roll stage: an event waits until its post-roll has come, then leaves with a clip cut from its
camera's ring up to then; at shutdown, what still waits leaves at once with what the ring has."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from shopwatch.core.clock import ManualClock, SystemClock
from shopwatch.core.events import Event, EventType
from shopwatch.ingest.clip import ClipError, ClipInfo
from shopwatch.ingest.postroll import CLIP_PREROLL_S, CutClip, PostRollClips

Stage = PostRollClips


def event(camera_id: str, start: float, end: float) -> Event:
    return Event(camera_id, EventType.LOITERING, start, end, 0.8, 3, (0.1, 0.1, 0.5, 0.9), "door", end)


class Sink:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def submit(self, event: Event) -> bool:
        self.events.append(event)
        return True


class Ring:
    """Records each cut; ``fail`` makes it refuse (the ring no longer reaches back)."""

    def __init__(self, fail: bool = False) -> None:
        self.cuts: list[tuple[float, float, Path]] = []
        self.fail = fail

    def cut(self, start: float, end: float, path: Path) -> ClipInfo:
        self.cuts.append((start, end, path))
        if self.fail:
            raise ClipError("the ring no longer reaches back there")
        return ClipInfo(path, 12, end - start)


def stage(tmp_path: Path, rings: dict[str, Ring], clock: ManualClock, sink: Sink, postroll_s: float = 3.0) -> Stage:
    def source(camera_id: str) -> CutClip | None:
        ring = rings.get(camera_id)
        return None if ring is None else ring.cut

    return PostRollClips(tmp_path, postroll_s, source, sink, clock=clock, thread=False)


def test_an_event_leaves_with_its_clip_once_its_post_roll_has_come(tmp_path: Path) -> None:
    clock = ManualClock(start=0.0, wall_start=1_000.0)
    ring, sink = Ring(), Sink()
    clips = stage(tmp_path, {"cam-1": ring}, clock, sink)
    e = event("cam-1", 995.0, 999.0)
    assert clips.submit(e)
    assert clips.publish_due() == pytest.approx(2.0)  # due at 999 + 3
    assert sink.events == [] and ring.cuts == []
    clock.advance(2.0)
    assert clips.publish_due() is None
    [out] = sink.events
    assert out.id == e.id and out.clip_path == str(tmp_path / "cam-1" / f"{e.id}.mp4")
    assert ring.cuts == [(995.0 - CLIP_PREROLL_S, 1_002.0, tmp_path / "cam-1" / f"{e.id}.mp4")]


def test_no_ring_goes_on_at_once_and_a_ring_that_no_longer_reaches_back_gives_no_clip(tmp_path: Path) -> None:
    clock = ManualClock(start=0.0, wall_start=1_000.0)
    sink = Sink()
    clips = stage(tmp_path, {"gone": Ring(fail=True)}, clock, sink, postroll_s=0.0)
    unknown = event("elsewhere", 990.0, 995.0)
    clips.submit(unknown)
    assert [e.id for e in sink.events] == [unknown.id]  # not on this worker: nothing to wait for
    late = event("gone", 990.0, 995.0)
    clips.submit(late)
    clips.publish_due()
    assert sink.events[-1].id == late.id and sink.events[-1].clip_path is None


def test_closing_hands_on_what_still_waits_with_the_ring_up_to_now(tmp_path: Path) -> None:
    clock = ManualClock(start=0.0, wall_start=1_000.0)
    ring, sink = Ring(), Sink()
    clips = stage(tmp_path, {"cam-1": ring}, clock, sink, postroll_s=60.0)
    first, second = event("cam-1", 990.0, 999.0), event("cam-1", 991.0, 999.5)
    clips.submit(second)
    clips.submit(first)
    clips.publish_due()
    assert sink.events == []  # waiting for their 60 s post-roll
    clock.advance(5.0)
    clips.close()
    assert [e.id for e in sink.events] == [first.id, second.id]  # in the order they were due
    assert [end for _, end, _ in ring.cuts] == [1_005.0, 1_005.0]  # cut up to the moment of closing
    after = event("cam-1", 1_000.0, 1_004.0)
    clips.submit(after)  # a late event at shutdown is not kept waiting with no one to wait
    assert sink.events[-1].id == after.id and sink.events[-1].clip_path is not None


def test_the_thread_hands_an_event_on_when_it_is_due(tmp_path: Path) -> None:
    ring = Ring()
    done: list[Event] = []
    arrived = threading.Event()

    class Notify(Sink):
        def submit(self, event: Event) -> bool:
            done.append(event)
            arrived.set()
            return True

    clock = SystemClock()
    clips = PostRollClips(tmp_path, 0.2, lambda _id: ring.cut, Notify(), clock=clock)
    try:
        now = clock.wall()
        clips.submit(event("cam-1", now - 1.0, now))
        assert arrived.wait(5.0)
    finally:
        clips.close()
    assert len(done) == 1 and done[0].clip_path is not None and ring.cuts[0][1] >= now + 0.2
