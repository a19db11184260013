"""``MediaClock``: a packet delivered late (held by FFmpeg until its read timed out) is not a sign of life."""

from __future__ import annotations

from shopwatch.ingest.liveness import MediaClock


def test_packets_on_time_are_heard_when_they_arrive_even_with_jitter() -> None:
    clock = MediaClock(tolerance_s=3.0)
    assert clock.heard(100.0, 0.0) == 100.0
    assert clock.heard(100.5, 0.25) == 100.5  # 0.25 s of network jitter
    assert clock.heard(101.0, 1.0) == 101.0


def test_a_held_packet_delivered_after_a_freeze_counts_when_it_was_live() -> None:
    clock = MediaClock(tolerance_s=3.0)
    for i in range(24):  # 2 s at 12 fps
        clock.heard(10.0 + i / 12, i / 12)
    # The server froze; 6 s later FFmpeg's read timed out and handed over the packet it held (the next picture).
    assert clock.heard(8.0 + 10.0, 2.0) == 12.0


def test_timestamps_that_jump_back_rebase_once_late_packets_keep_flowing() -> None:
    clock = MediaClock(tolerance_s=1.0)
    clock.heard(0.0, 100.0)
    clock.heard(1.0, 101.0)
    # The camera's clock was reset: pts restart at 0 while packets keep coming every 0.5 s.
    heard = [clock.heard(1.5 + 0.5 * i, 0.5 * i) for i in range(6)]
    assert heard[0] < 1.5  # late at first: not yet trusted
    assert heard[-1] == 1.5 + 0.5 * 5  # flowing for longer than the tolerance: live again


def test_packets_without_a_timestamp_are_heard_when_they_arrive() -> None:
    clock = MediaClock(tolerance_s=3.0)
    clock.heard(0.0, 0.0)
    assert clock.heard(50.0, None) == 50.0
