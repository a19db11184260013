"""``MediaClock``: a packet delivered late (held by FFmpeg until its read timed out) is not a sign of life."""

from __future__ import annotations

from shopwatch.ingest.liveness import MediaClock


def test_packets_on_time_are_heard_when_they_arrive_even_with_jitter() -> None:
    clock = MediaClock(tolerance_s=3.0)
    assert clock.heard(100.0, 0.0) == 100.0
    assert clock.heard(100.5, 0.25) == 100.5  # 0.25 s of network jitter
    assert clock.heard(101.0, 1.0) == 101.0


def test_a_held_packet_delivered_after_a_freeze_counts_when_the_one_before_it_came() -> None:
    clock = MediaClock(tolerance_s=3.0)
    for i in range(24):  # 2 s at 12 fps
        clock.heard(10.0 + i / 12, i / 12)
    # The server froze; 6 s later FFmpeg's read timed out and handed over the packet it held (the next picture).
    assert clock.heard(10.0 + 23 / 12 + 6.0, 2.0) == 10.0 + 23 / 12 + 1 / 12


def test_a_stream_that_resumes_after_a_silence_is_heard_again() -> None:
    clock = MediaClock(tolerance_s=1.0)
    clock.heard(0.0, 0.0)
    assert clock.heard(5.0, 5.0) == 5.0  # a live camera's clock ran on during its 5 s outage
    clock.heard(10.0, 5.1)  # a frozen one resumed: the first packet is old ...
    assert clock.heard(10.1, 5.2) == 10.1  # ... the next ones flow


def test_timestamps_that_jump_while_packets_flow_change_nothing() -> None:
    clock = MediaClock(tolerance_s=1.0)
    clock.heard(0.0, 100.0)
    assert clock.heard(0.5, 0.0) == 0.5  # the camera's clock was reset
    assert clock.heard(1.0, 5000.0) == 1.0  # or remapped by an RTCP sender report


def test_packets_without_a_timestamp_are_heard_when_they_arrive() -> None:
    clock = MediaClock(tolerance_s=3.0)
    clock.heard(0.0, 0.0)
    assert clock.heard(50.0, None) == 50.0
