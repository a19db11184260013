"""A shard's live streams without Ray (``cluster/shard_live.py``): a head that does not take pictures in time
costs dropped pictures, never a wait, and the feed resumes at a keyframe (a dropped new stream's template goes
with it); a stream ends when the head's lease runs out or is ended, when the camera leaves the shard, or when a
newer stream of the camera opens, and each end tells the worker to stop watching."""

from __future__ import annotations

import threading
from fractions import Fraction

from shopwatch.cluster.shard_live import LiveOutbox, ShardLive
from shopwatch.core.clock import ManualClock
from shopwatch.ingest.clip import StreamTemplate
from shopwatch.ingest.live_feed import WATCH_S, LivePackets, LiveUnit, WatchLive
from tests.cluster.helpers import wait_for

H264 = StreamTemplate("h264", 320, 180, None, Fraction(1, 90_000))


def units(first: int, count: int, gop: int = 4) -> tuple[LiveUnit, ...]:
    """Pictures ``first``..``first + count - 1`` of a stream with a keyframe every ``gop``; pts = index."""
    return tuple(LiveUnit(bytes([i % 256]), i, i % gop == 0, 0.0) for i in range(first, first + count))


def pts(batches: list[LivePackets]) -> list[int | None]:
    return [u.pts for b in batches for u in b.units]


def test_a_head_that_does_not_keep_up_drops_pictures_and_resumes_at_a_keyframe_after_a_gap() -> None:
    outbox = LiveOutbox(max_units=8)
    outbox.offer(LivePackets("cam", H264, units(0, 6)))
    outbox.offer(LivePackets("cam", None, units(6, 3)))  # 9 > 8: the 6 waiting dropped, 6 and 7 too: 8 is a keyframe
    outbox.offer(LivePackets("cam", None, units(9, 3)))
    outbox.offer(LivePackets("cam", None, units(12, 2)))
    waiting = outbox.take(0.0)
    assert pts(waiting) == [8, 9, 10, 11, 12, 13]
    assert waiting[0].stream == H264, "the dropped first batch's template goes with the first picture kept"
    assert outbox.dropped == 8
    outbox.offer(LivePackets("cam", None, units(14, 2)))
    assert [(b.stream, b.gap, pts([b])) for b in outbox.take(0.0)] == [(None, False, [14, 15])]
    outbox.offer(LivePackets("cam", None, units(16, 9)))  # one batch over the bound, with a keyframe inside
    (late,) = outbox.take(0.0)
    assert late.gap and late.stream is None and pts([late]) == list(range(16, 25))  # 16 is a keyframe
    assert outbox.take(0.01) == []


def test_a_new_stream_replaces_what_waits_of_the_old_one() -> None:
    outbox = LiveOutbox(max_units=8)
    outbox.offer(LivePackets("cam", H264, units(0, 3)))
    restarted = StreamTemplate("h264", 320, 180, b"\x01", Fraction(1, 90_000))
    outbox.offer(LivePackets("cam", restarted, units(0, 2)))
    (batch,) = outbox.take(0.0)
    assert batch.stream is restarted and pts([batch]) == [0, 1] and outbox.dropped == 3


class Shard:
    def __init__(self) -> None:
        self.clock = ManualClock()
        self.watches: list[WatchLive] = []
        self.cameras = {"cam", "other"}
        self.live = ShardLive(self.watches.append, self.cameras.__contains__, self.clock.monotonic, max_units=8)
        self.got: list[LivePackets] = []

    def open(self, camera_id: str = "cam", lease_s: float = WATCH_S) -> threading.Thread:
        def run() -> None:
            for batch in self.live.stream(camera_id, lease_s):
                self.got.extend(batch)

        before = len(self.watches)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        # Open once it has told the worker to start over and to watch (the clock stands still: no renewal after).
        wait_for(lambda: WatchLive(camera_id, WATCH_S) in self.watches[before:], 5, "the stream open")
        return thread

    def ended(self, thread: threading.Thread) -> bool:
        thread.join(5)
        return not thread.is_alive()


def test_a_stream_carries_pictures_while_its_lease_is_renewed_and_ends_when_it_runs_out() -> None:
    shard = Shard()
    thread = shard.open()
    shard.live.offer(LivePackets("cam", H264, units(0, 3)))
    shard.live.offer(LivePackets("other", H264, units(0, 3)))  # not streamed: dropped on the floor
    wait_for(lambda: pts(shard.got) == [0, 1, 2], 5, "the pictures at the head")
    shard.clock.advance(WATCH_S - 0.5)
    shard.live.renew("cam", WATCH_S)
    shard.clock.advance(WATCH_S - 0.5)
    assert thread.is_alive(), "a renewed lease keeps the stream"
    shard.clock.advance(1.0)
    assert shard.ended(thread)
    assert shard.watches[0] == WatchLive("cam", 0.0), "the tap starts over at a keyframe with its template"
    assert WatchLive("cam", WATCH_S) in shard.watches and shard.watches[-1] == WatchLive("cam", 0.0)
    assert shard.live.streaming() == []


def test_a_stream_ends_when_the_head_ends_it_the_camera_leaves_or_a_newer_one_opens() -> None:
    shard = Shard()
    thread = shard.open()
    shard.live.renew("cam", 0.0)  # the viewer left
    assert shard.ended(thread) and shard.watches[-1] == WatchLive("cam", 0.0)

    thread = shard.open()
    shard.cameras.discard("cam")  # moved to another shard
    assert shard.ended(thread) and shard.watches[-1] == WatchLive("cam", 0.0)

    shard.cameras.add("cam")
    old = shard.open()
    count = len(shard.watches)
    new = shard.open()  # a restarted head opens the camera again
    assert shard.ended(old) and new.is_alive()
    assert WatchLive("cam", 0.0) not in shard.watches[count + 1 :], "the old stream's end does not stop the new one"
    shard.live.close()
    assert shard.ended(new) and shard.live.streaming() == []
