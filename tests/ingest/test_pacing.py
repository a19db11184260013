"""``PaceCore`` / ``OpenPacer``: a worker's opens go at most ``rate`` per second and ``in_flight`` at once."""

from __future__ import annotations

import math
import random
import threading
import time

import pytest

from shopwatch.ingest.pacing import OpenPacer, PaceCore


def test_opens_are_spaced_by_the_rate_with_jitter() -> None:
    core = PaceCore(rate=10.0, in_flight=100, jitter=0.5, rng=random.Random(1))
    starts = []
    now = 0.0
    while len(starts) < 50:
        wait = core.try_start(now)
        if wait == 0.0:
            starts.append(now)
            core.finish()
        else:
            now += wait
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert all(0.05 - 1e-9 <= g <= 0.15 + 1e-9 for g in gaps)  # 0.1 s +- 50 %
    assert len(set(round(g, 6) for g in gaps)) > 10  # jittered, not a fixed beat
    assert 4.0 <= starts[-1] <= 6.0  # 49 gaps of 0.1 s on average


def test_no_more_opens_in_flight_than_allowed_until_one_finishes() -> None:
    core = PaceCore(rate=1000.0, in_flight=2, jitter=0.0)
    assert core.try_start(0.0) == 0.0
    assert core.try_start(1.0) == 0.0
    assert core.try_start(2.0) == math.inf
    core.finish()
    assert core.try_start(2.0) == 0.0
    assert core.busy == 2


def test_an_idle_pacer_lets_the_first_open_go_at_once() -> None:
    core = PaceCore(rate=0.1, in_flight=1, jitter=0.0)
    assert core.try_start(100.0) == 0.0
    core.finish()
    assert core.try_start(105.0) == pytest.approx(5.0)  # 10 s spacing
    assert core.try_start(110.0) == 0.0


@pytest.mark.parametrize(("rate", "in_flight", "jitter"), [(0.0, 1, 0.1), (1.0, 0, 0.1), (1.0, 1, 1.0)])
def test_bad_settings_are_refused(rate: float, in_flight: int, jitter: float) -> None:
    with pytest.raises(ValueError, match="expected rate > 0"):
        PaceCore(rate, in_flight, jitter)


def test_waiting_readers_go_one_at_a_time_and_a_stop_releases_a_waiter() -> None:
    pacer = OpenPacer(PaceCore(rate=1000.0, in_flight=1, jitter=0.0))
    stop = threading.Event()
    assert pacer.start(stop)
    outcome: list[bool] = []
    waiter = threading.Thread(target=lambda: outcome.append(pacer.start(stop)))
    waiter.start()
    waiter.join(0.3)
    assert waiter.is_alive()  # the slot is taken
    pacer.finish()
    waiter.join(2.0)
    assert outcome == [True]
    other_stop = threading.Event()
    blocked = threading.Thread(target=lambda: outcome.append(pacer.start(other_stop)))
    blocked.start()
    time.sleep(0.1)
    other_stop.set()
    blocked.join(2.0)
    assert not blocked.is_alive() and outcome == [True, False]
