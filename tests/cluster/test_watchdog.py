"""The shard's watchdog: a dead critical thread or a heartbeat that stopped turns into an exit."""

from __future__ import annotations

import threading

from shopwatch.cluster.watchdog import EXIT_CODE, Watchdog, run_watchdog
from shopwatch.core.clock import ManualClock


def test_a_dead_critical_thread_is_a_verdict_at_once() -> None:
    dog = Watchdog(10.0, ManualClock())
    assert dog.verdict({"main": True, "event-writer": False}, 1) == "critical thread event-writer died"


def test_a_heartbeat_still_for_the_limit_is_a_verdict_and_a_moving_one_never() -> None:
    clock = ManualClock()
    dog = Watchdog(10.0, clock)
    for beat in range(30):  # moving: never
        clock.advance(1.0)
        assert dog.verdict({"main": True}, beat) is None
    clock.advance(9.9)
    assert dog.verdict({"main": True}, 29) is None
    clock.advance(0.1)
    verdict = dog.verdict({"main": True}, 29)
    assert verdict is not None and "has not moved for 10.0 s" in verdict


def test_the_watchdog_thread_exits_the_process_on_a_verdict() -> None:
    exits: list[int] = []
    stop = threading.Event()
    thread = threading.Thread(
        target=run_watchdog,
        args=(Watchdog(10.0, ManualClock()), lambda: ({"main": False}, 0), stop, exits.append),
    )
    thread.start()
    thread.join(5.0)
    stop.set()
    assert exits == [EXIT_CODE]
