import pytest

from shopwatch.core.clock import ManualClock
from shopwatch.core.health import ActivityMode, CameraState, StreamInfo
from shopwatch.ingest.stats import HealthTracker, RollingRate


def test_rolling_rate_over_the_window() -> None:
    rate = RollingRate(now=0.0, window_s=5.0)
    t = 0.0
    for _ in range(12 * 10):  # 12 per second for 10 s
        rate.add(t, 1)
        t += 1 / 12
    assert rate.rate(t) == pytest.approx(12, rel=0.1)
    assert rate.rate(t + 6.0) == 0.0


def test_a_fresh_rate_is_averaged_over_the_time_so_far() -> None:
    rate = RollingRate(now=100.0, window_s=5.0)
    for i in range(12):
        rate.add(100.0 + i / 12, 1000)
    assert rate.rate(101.0) == pytest.approx(12_000, rel=0.1)


def tracker(clock: ManualClock, secrets: tuple[str, ...] = ()) -> HealthTracker:
    return HealthTracker("cam-1", clock, stall_after_s=3.0, secrets=secrets)


def test_connecting_then_online_on_the_first_packet() -> None:
    clock = ManualClock()
    t = tracker(clock)
    assert t.health().state is CameraState.CONNECTING
    t.begin_attempt(reconnect=False)
    clock.advance(0.05)
    assert t.on_packet(1500) is True
    t.on_keyframe()
    assert t.on_packet(200) is False
    h = t.health()
    assert h.state is CameraState.ONLINE
    assert h.since == clock.wall()
    assert h.time_to_first_packet_s == pytest.approx(0.05)
    assert (h.packets_total, h.keyframes_total, h.reconnects) == (2, 1, 0)


def test_stalled_is_derived_from_the_age_of_the_last_packet() -> None:
    clock = ManualClock()
    t = tracker(clock)
    t.begin_attempt(reconnect=False)
    t.on_packet(100)
    last_packet_wall = clock.wall()
    clock.advance(2.9)
    assert t.health().state is CameraState.ONLINE
    clock.advance(0.2)
    h = t.health()
    assert h.state is CameraState.STALLED
    assert h.since == pytest.approx(last_packet_wall + 3.0)
    assert h.last_packet_age_s == pytest.approx(3.1)
    t.on_packet(100)
    assert t.health().state is CameraState.ONLINE


def test_failures_keep_their_state_and_since_across_retries() -> None:
    clock = ManualClock()
    t = tracker(clock)
    t.begin_attempt(reconnect=False)
    t.on_failure(CameraState.OFFLINE, "connection refused by 10.0.0.5:554", retry_in_s=0.5)
    down_since = clock.wall()
    assert t.health().next_retry_in_s == pytest.approx(0.5)
    clock.advance(0.5)
    t.begin_attempt(reconnect=True)
    h = t.health()
    assert h.state is CameraState.OFFLINE and h.since == down_since
    assert h.reconnects == 1 and h.next_retry_in_s is None
    assert h.last_error == "connection refused by 10.0.0.5:554"


def test_errors_are_redacted() -> None:
    clock = ManualClock()
    t = tracker(clock, secrets=("hunter22",))
    t.on_failure(CameraState.AUTH_FAILED, "401 for rtsp://admin:hunter22@10.0.0.5/s (password hunter22)", 120)
    error = t.health().last_error
    assert error is not None and "hunter22" not in error
    assert t.health().state is CameraState.AUTH_FAILED


def test_rates_mode_stream_and_disabled() -> None:
    clock = ManualClock()
    t = tracker(clock)
    t.begin_attempt(reconnect=False)
    t.set_stream(StreamInfo("h264", 640, 360, 12.0))
    for _ in range(60):
        t.on_packet(500)
        t.on_decoded()
        clock.advance(1 / 12)
    t.set_mode(ActivityMode.ACTIVE, activations=3)
    h = t.health(frames_dropped=7)
    assert h.packets_per_s == pytest.approx(12, rel=0.15)
    assert h.frames_per_s == pytest.approx(12, rel=0.15)
    assert h.kbit_per_s == pytest.approx(48, rel=0.15)
    assert (h.mode, h.activations, h.frames_dropped, h.frames_total) == (ActivityMode.ACTIVE, 3, 7, 60)
    assert h.stream == StreamInfo("h264", 640, 360, 12.0)
    t.set_disabled()
    h = t.health()
    assert h.state is CameraState.DISABLED and h.packets_per_s == 0 and h.mode is ActivityMode.IDLE


def test_a_batch_of_packets_counts_like_its_packets_one_by_one() -> None:
    clock = ManualClock()
    t = tracker(clock)
    t.begin_attempt(reconnect=False)
    first = clock.monotonic() + 0.05
    clock.advance(0.3)  # the batch is counted when the reader gets to it, a little after its packets arrived
    assert t.on_packets(4, 4 * 1000, first, clock.monotonic() - 0.01) is True
    assert t.on_packets(2, 2 * 1000, clock.monotonic(), clock.monotonic()) is False
    h = t.health()
    assert h.state is CameraState.ONLINE and h.packets_total == 6
    assert h.time_to_first_packet_s == pytest.approx(0.05)  # from the arrival of the first packet
    assert h.last_packet_age_s == pytest.approx(0.0)
