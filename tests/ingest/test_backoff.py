import random

import pytest

from shopwatch.core.config import Backoff
from shopwatch.ingest.backoff import ReconnectBackoff


def _backoff(seed: int = 1, **kw: float) -> ReconnectBackoff:
    return ReconnectBackoff(Backoff(**kw), random.Random(seed))


def test_without_jitter_the_delay_doubles_up_to_the_cap() -> None:
    b = _backoff(initial_s=0.5, factor=2, max_s=30, jitter=0)
    assert [b.next_delay() for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    assert b.failures == 9


@pytest.mark.parametrize(
    ("initial", "factor", "cap", "jitter"),
    [
        (0.5, 2.0, 30.0, 0.2),
        (1.0, 1.5, 4.0, 0.5),
        (2.0, 1.0, 2.0, 1.0),  # factor 1: constant delay, jitter only below the cap
        (0.1, 10.0, 3600.0, 0.3),
    ],
)
def test_every_delay_is_within_its_jitter_band_and_never_above_the_cap(
    initial: float, factor: float, cap: float, jitter: float
) -> None:
    b = _backoff(initial_s=initial, factor=factor, max_s=cap, jitter=jitter)
    for failures in range(200):
        base = min(initial * factor ** min(failures, 64), cap)
        delay = b.next_delay()
        assert base * (1 - jitter) <= delay <= min(base * (1 + jitter), cap)


def test_jitter_spreads_cameras_that_failed_together() -> None:
    delays = {round(_backoff(seed=seed, initial_s=1, jitter=0.2).next_delay(), 6) for seed in range(50)}
    assert len(delays) > 40
    assert min(delays) >= 0.8 and max(delays) <= 1.2


def test_same_seed_gives_the_same_sequence() -> None:
    a, b = _backoff(seed=7), _backoff(seed=7)
    assert [a.next_delay() for _ in range(10)] == [b.next_delay() for _ in range(10)]


def test_reset_starts_from_the_initial_delay_again() -> None:
    b = _backoff(initial_s=0.5, jitter=0)
    for _ in range(5):
        b.next_delay()
    b.reset()
    assert b.failures == 0
    assert b.next_delay() == 0.5


def test_auth_failures_wait_the_slow_delay_jittered_and_not_capped_by_max_s() -> None:
    b = _backoff(initial_s=0.5, max_s=2, jitter=0.1, auth_retry_s=120)
    delays = [b.auth_delay() for _ in range(100)]
    assert all(108 <= d <= 132 for d in delays)
    assert len(set(delays)) > 90
