"""Several shopwatch processes on one database (SQLite and PostgreSQL): their dispatchers never send the same
delivery at the same time, and a delivery held by one that stalls or dies is sent by another once the lease
ends (injected clock). Each dispatcher has its own engine, as a process would."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from shopwatch.core.clock import ManualClock, SystemClock
from shopwatch.core.incident_records import Delivery, NewDelivery, NewEvent
from shopwatch.core.incidents_config import DeliverySettings
from shopwatch.incidents.dispatcher import Dispatcher
from shopwatch.incidents.senders import DeliveryError
from shopwatch.store.db import create_engine_for
from shopwatch.store.events import EventRepository
from shopwatch.store.outbox import OutboxRepository, as_pending
from tests.incidents.peers import bounded, wait_for
from tests.store.test_events import make_event


class Recorder:
    """A sender that takes a moment and remembers what it sent."""

    def __init__(self, rng: random.Random) -> None:
        self.sent: list[str] = []
        self._rng = rng

    async def send(self, delivery: Delivery) -> None:
        await asyncio.sleep(self._rng.uniform(0, 0.003))
        self.sent.append(delivery.id)

    async def close(self) -> None:
        pass


class Stalled:
    """A sender that hangs until told how the send ended, like a process frozen mid-send."""

    def __init__(self) -> None:
        self.entered = asyncio.Event()
        self.release: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def send(self, delivery: Delivery) -> None:  # noqa: ARG002
        self.entered.set()
        await self.release

    async def close(self) -> None:
        pass


def queue_events(engine: Engine, first: int, count: int, created: datetime) -> list[str]:
    """``count`` events with two deliveries each, committed unleased; returns the delivery ids."""
    items = []
    for n in range(first, first + count):
        event = make_event(n)
        deliveries = [
            NewDelivery(f"d{n:04d}{k}", event.id, "alert", "north", "mqtt", "t/x", {"n": n}, created) for k in (0, 1)
        ]
        items.append(NewEvent(event, deliveries))
    EventRepository(engine).add_many(items)
    return [d.id for item in items for d in item.deliveries]


async def test_two_dispatchers_send_each_delivery_once(engine: Engine, db_url: str) -> None:
    other = create_engine_for(db_url)
    settings = DeliverySettings(parallel=4)
    senders = [Recorder(random.Random(1)), Recorder(random.Random(2))]
    dispatchers = [
        Dispatcher(OutboxRepository(e), {"mqtt": s}, settings, SystemClock())
        for e, s in zip((engine, other), senders, strict=True)
    ]
    for dispatcher in dispatchers:
        dispatcher.start()
    outbox = OutboxRepository(engine)
    queued: list[str] = []
    try:
        for burst in range(8):  # a burst arriving while both are sending
            queued += queue_events(engine, burst * 10, 10, datetime.now(UTC))
            for dispatcher in dispatchers:
                dispatcher.wake()
            await asyncio.sleep(0.01)
        await wait_for(lambda: outbox.counts()["delivered"] == len(queued), 30, "every delivery")
    finally:
        for dispatcher in dispatchers:
            await bounded(dispatcher.close(), "closing a dispatcher")
        other.dispose()
    sent = senders[0].sent + senders[1].sent
    assert sorted(sent) == sorted(queued)  # each once, none twice
    assert senders[0].sent and senders[1].sent  # both took part
    assert outbox.counts() == {"pending": 0, "delivered": 160, "failed": 0}


async def test_a_stalled_dispatchers_lease_is_taken_over_when_it_ends(engine: Engine, db_url: str) -> None:
    other = create_engine_for(db_url)
    clock = ManualClock(wall_start=make_event(0).stored_at.timestamp())
    settings = DeliverySettings(lease_s=30, timeout_s=5)
    stalled, recorder = Stalled(), Recorder(random.Random(3))
    first = Dispatcher(OutboxRepository(engine), {"mqtt": stalled}, settings, clock)
    second = Dispatcher(OutboxRepository(other), {"mqtt": recorder}, settings, clock)
    outbox = OutboxRepository(engine)
    try:
        (delivery_id, spare_id) = queue_events(engine, 1, 1, datetime.fromtimestamp(clock.wall(), UTC))
        stuck = asyncio.create_task(first.run_due())
        await asyncio.wait_for(stalled.entered.wait(), 10)
        held = outbox.get(delivery_id)
        assert held is not None and held.leased_by == first.name
        assert held.lease_until == datetime.fromtimestamp(clock.wall(), UTC) + timedelta(seconds=30)

        assert await second.run_due() == 0  # both rows are the first one's
        clock.advance(29.9)
        assert await second.run_due() == 0
        clock.advance(0.2)  # the lease has ended: the first one is presumed dead
        assert await second.run_due() == 2
        assert sorted(recorder.sent) == sorted([delivery_id, spare_id])

        # The first one wakes up after all and reports a failure: the rows are no longer its to change.
        stalled.release.set_exception(DeliveryError("late"))
        await asyncio.wait_for(stuck, 10)
    finally:
        other.dispose()
    for row in (outbox.get(delivery_id), outbox.get(spare_id)):
        assert row is not None and (row.state, row.attempts, row.leased_by) == ("delivered", 1, None)
    assert (first.retried, second.sent) == (0, 2)


async def test_a_closing_dispatcher_gives_back_what_it_did_not_send(engine: Engine, db_url: str) -> None:
    """Rows handed over (or cut off mid-send) when the service stops are released at once, so the next start
    or another process sends them without waiting for the lease to end."""
    other = create_engine_for(db_url)
    clock = ManualClock(wall_start=make_event(0).stored_at.timestamp())
    settings = DeliverySettings(parallel=1, lease_s=60, timeout_s=5)
    stalled, recorder = Stalled(), Recorder(random.Random(4))
    stopping = Dispatcher(OutboxRepository(engine), {"mqtt": stalled}, settings, clock)
    stopping.start()
    lease = stopping.lease()
    assert lease is not None and lease.owner == stopping.name
    try:
        items = []
        for n in range(1, 4):
            event = make_event(n)
            created = datetime.fromtimestamp(clock.wall(), UTC)
            items.append(NewEvent(event, [NewDelivery(f"d{n}", event.id, "alert", "north", "mqtt", "t", {}, created)]))
        EventRepository(engine).add_many(items, lease)
        stopping.hand([as_pending(d, lease) for item in items for d in item.deliveries])
        await asyncio.wait_for(stalled.entered.wait(), 10)  # one in flight (parallel = 1), two waiting
        await bounded(stopping.close(grace_s=0.05), "closing the dispatcher")
        successor = Dispatcher(OutboxRepository(other), {"mqtt": recorder}, settings, clock)
        assert await successor.run_due() == 3  # at the same moment: no lease left to wait for
    finally:
        other.dispose()
    assert sorted(recorder.sent) == ["d1", "d2", "d3"]


async def test_handing_over_stops_at_a_bound_while_sends_are_stuck(engine: Engine) -> None:
    """A receiver that hangs: new rows are no longer leased and handed over past 8 per send slot; they stay in
    the outbox for the poll, so memory stays bounded."""
    clock = ManualClock()
    stalled = Stalled()
    dispatcher = Dispatcher(OutboxRepository(engine), {"mqtt": stalled}, DeliverySettings(parallel=1), clock)
    dispatcher.start()
    created = datetime.fromtimestamp(clock.wall(), UTC)

    def hand(n: int) -> bool:
        lease = dispatcher.lease()
        if lease is not None:
            dispatcher.hand([as_pending(NewDelivery(f"d{n}", "e", "alert", "t", "mqtt", "t", {}, created), lease)])
        return lease is not None

    try:
        assert hand(0)
        await asyncio.wait_for(stalled.entered.wait(), 10)  # in the one slot, stuck
        waiting = 0
        while hand(1 + waiting):
            waiting += 1
        assert waiting == 8
    finally:
        await bounded(dispatcher.close(grace_s=0.01), "closing the dispatcher")
