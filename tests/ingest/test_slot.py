import threading

import pytest

from shopwatch.ingest.slot import LatestSlot


def test_put_overwrites_and_counts_what_nobody_took() -> None:
    slot: LatestSlot[int] = LatestSlot()
    slot.put(1)
    slot.put(2)
    slot.put(3)
    assert slot.dropped == 2
    assert slot.get(timeout=0) == 3
    assert slot.get_nowait() is None
    slot.put(4)
    assert slot.get(timeout=0) == 4
    assert slot.dropped == 2  # taken values are not dropped
    assert slot.put_count == 4


def test_a_slot_with_room_keeps_order_and_drops_the_oldest() -> None:
    slot: LatestSlot[int] = LatestSlot(capacity=3)
    for i in range(5):
        slot.put(i)
    assert slot.dropped == 2
    assert len(slot) == 3
    assert slot.peek_latest() == 4
    assert slot.get(timeout=0) == 2
    assert slot.drain() == [3, 4]
    assert slot.drain() == []


def test_get_times_out_with_none() -> None:
    slot: LatestSlot[str] = LatestSlot()
    assert slot.get(timeout=0.01) is None


def test_a_put_from_another_thread_wakes_a_waiting_get() -> None:
    slot: LatestSlot[str] = LatestSlot()
    got: list[str | None] = []
    waiter = threading.Thread(target=lambda: got.append(slot.get(timeout=5.0)))
    waiter.start()
    slot.put("frame")
    waiter.join(5.0)
    assert got == ["frame"]


def test_put_never_blocks_under_a_racing_consumer() -> None:
    slot: LatestSlot[int] = LatestSlot(capacity=2)
    taken: list[int] = []
    done = threading.Event()

    def consume() -> None:
        while not done.is_set() or len(slot):
            value = slot.get(timeout=0.01)
            if value is not None:
                taken.append(value)

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(20_000):
        slot.put(i)
    done.set()
    consumer.join(5.0)
    assert len(taken) + slot.dropped == 20_000
    assert taken == sorted(taken)


def test_capacity_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        LatestSlot(capacity=0)
