"""The outbox dispatcher: sends every pending delivery until a receiver confirmed it.

The database is the truth: a delivery is sent only after its row was committed, and what was not confirmed
stays ``pending`` and is sent again, so nothing is lost when the broker is down, a webhook answers 500 or the
service restarts. That makes delivery at-least-once; the delivery id (the webhook's idempotency key,
``delivery_id`` in every payload) lets a receiver drop a repeat.

Each process's dispatcher sends only deliveries it holds a lease on (see ``store.outbox``), so several
processes on one database never send the same delivery at the same time, and one that died holding a lease
is taken over when the lease ends. The rows of the service's own new events are written already leased to
its dispatcher and handed over in memory (``hand``), so an alert leaves without reading its row back; the
database is polled when woken (escalations), when a retry or a lease comes due, and at least every
``IDLE_POLL_S``. Outcomes of sends that finish together are recorded in one transaction. Each delivery is
its own task (at most ``delivery.parallel``), so a hanging webhook never holds up an MQTT alert."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from shopwatch.core.clock import Clock
from shopwatch.core.incident_records import Delivery, DeliveryOutcome, DeliveryState, Lease
from shopwatch.core.incidents_config import DeliverySettings
from shopwatch.incidents.senders import DeliveryError, Sender
from shopwatch.store.outbox import OutboxRepository

log = logging.getLogger(__name__)

IDLE_POLL_S = 5.0  # look in the database at least this often (a new escalation wakes the loop at once anyway)
MIN_WAIT_S = 0.005
SENDER_CLOSE_S = 5.0
RECORD_GATHER_S = 0.02  # outcomes wait this long to be recorded together (a burst: tens per transaction)
HANDED_PER_SLOT = 8  # handed-over deliveries waiting for a free send slot, at most, per slot
SEND_SLACK = 2  # a delivery is sent only while its lease has this many send timeouts left (connect + publish)


def dispatcher_name() -> str:
    """Unique per dispatcher, readable in the outbox: host, process, and a random part for restarts."""
    return f"{socket.gethostname()[:40]}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def retry_delay(settings: DeliverySettings, attempts: int, rng: random.Random) -> float:
    """Exponential backoff from ``backoff_initial_s`` capped at ``backoff_max_s``, spread by ± jitter."""
    base = min(settings.backoff_max_s, settings.backoff_initial_s * 2 ** min(attempts, 32))
    return base * (1 + rng.uniform(-settings.backoff_jitter, settings.backoff_jitter))


class Dispatcher:
    def __init__(
        self,
        outbox: OutboxRepository,
        senders: dict[str, Sender],
        settings: DeliverySettings,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self._outbox = outbox
        self._senders = senders
        self._settings = settings
        self._clock = clock
        self._rng = rng or random.Random()
        self.name = dispatcher_name()
        self._wake = asyncio.Event()
        self._poll = True  # look in the database at the next step
        self._poll_at: datetime | None = None  # when a pending delivery comes due, as far as we know
        self._full = False  # the last claim took as many as there were free slots: more may be waiting
        self._handed: deque[Delivery] = deque()
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._outcomes: list[DeliveryOutcome] = []
        self._recorder: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.retried = 0
        self.failed = 0
        self.polls = 0

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.wall(), UTC)

    def _lease_from(self, now: datetime) -> Lease:
        return Lease(self.name, now + timedelta(seconds=self._settings.lease_s))

    def lease(self) -> Lease | None:
        """A lease for deliveries about to be committed and then handed over (``hand``); None when this
        dispatcher is not running or already has ``HANDED_PER_SLOT`` × ``parallel`` waiting (a receiver down): the
        rows are then left unleased to whichever dispatcher polls first, and memory stays bounded."""
        if self._task is None or len(self._handed) >= HANDED_PER_SLOT * self._settings.parallel:
            return None
        return self._lease_from(self._now())

    def hand(self, deliveries: Sequence[Delivery]) -> None:
        """Deliveries committed under this dispatcher's lease: send them without reading them back."""
        self._handed.extend(deliveries)
        self._wake.set()

    def wake(self) -> None:
        """New deliveries were committed that nobody holds: look now instead of at the next poll."""
        self._poll = True
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def close(self, grace_s: float = 2.0) -> None:
        """Stop sending: sends in flight get ``grace_s`` to finish (cutting an HTTP request off can leave
        httpx's pool waiting on it); the rest, and what was handed over but not sent, are given back to the
        outbox (their leases released) for the next start or another process."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        unsent = [d.id for d in self._handed]
        self._handed.clear()
        inflight = dict(self._inflight)
        if inflight:
            _, late = await asyncio.wait(inflight.values(), timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
            unsent += [delivery_id for delivery_id, task in inflight.items() if task in late]
        try:
            await self._recorded()
            await asyncio.to_thread(self._outbox.release, unsent, self.name)
        except Exception:  # a task boundary: the leases run out by themselves
            log.exception("giving back %d unsent deliveries failed", len(unsent))
        for name, sender in self._senders.items():
            try:
                await asyncio.wait_for(sender.close(), SENDER_CLOSE_S)
            except TimeoutError:
                log.warning("the %s sender did not close within %.0f s", name, SENDER_CLOSE_S)

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except asyncio.CancelledError:
                raise
            except Exception:  # a task boundary: a database hiccup must not end delivery for good
                log.exception("outbox dispatcher step failed; retrying")
                self._poll = True
                await asyncio.sleep(1.0)

    async def _step(self) -> None:
        self._wake.clear()
        for delivery in self._take_handed(self._settings.parallel - len(self._inflight)):
            self._launch(delivery)
        free = self._settings.parallel - len(self._inflight)
        if self._poll and free > 0:
            self._poll = False
            self.polls += 1
            now = self._now()
            claimed = await asyncio.to_thread(self._outbox.claim, now, free, self._lease_from(now))
            for delivery in claimed:
                self._launch(delivery)
            self._full = len(claimed) == free
            if not self._full:
                self._poll_at = await asyncio.to_thread(self._outbox.next_due, now)
        wait = IDLE_POLL_S
        if self._poll_at is not None:
            wait = min(IDLE_POLL_S, max(MIN_WAIT_S, (self._poll_at - self._now()).total_seconds()))
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that arrives as its
        # timeout fires, and this loop would then never stop.
        try:
            async with asyncio.timeout(wait):
                await self._wake.wait()
        except TimeoutError:
            self._poll, self._poll_at = True, None

    def _take_handed(self, limit: int) -> list[Delivery]:
        """Up to ``limit`` handed-over deliveries whose lease still leaves time to send; a lease about to run
        out is left to run out, and the row to the poll that claims it again."""
        taken: list[Delivery] = []
        enough = self._now() + timedelta(seconds=SEND_SLACK * self._settings.timeout_s)
        while self._handed and len(taken) < limit:
            delivery = self._handed.popleft()
            if delivery.lease_until is not None and delivery.lease_until > enough:
                taken.append(delivery)
        return taken

    def _launch(self, delivery: Delivery) -> None:
        self._inflight[delivery.id] = asyncio.create_task(self._deliver(delivery))

    async def run_due(self) -> int:
        """Send every delivery due now, handed over or in the outbox, and wait for the outcomes (for tests with
        an injected clock)."""
        due = self._take_handed(len(self._handed))
        now = self._now()
        due += await asyncio.to_thread(self._outbox.claim, now, 10_000, self._lease_from(now))
        await asyncio.gather(*(self._deliver(d) for d in due))
        await self._recorded()
        return len(due)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            outcome = await self._attempt(delivery)
            self._outcomes.append(outcome)
            self._record_soon()
        except Exception:  # a task boundary: log; the row stays leased until its lease ends, then is sent again
            log.exception("delivery %s failed unexpectedly", delivery.id)
        finally:
            # The slot is free once the send is over; the row stays ours (leased) until its outcome is recorded.
            self._inflight.pop(delivery.id, None)
            if self._full:
                self._poll = True
            self._wake.set()

    async def _attempt(self, delivery: Delivery) -> DeliveryOutcome:
        sender = self._senders.get(delivery.channel)
        try:
            if sender is None:
                raise DeliveryError(f"no {delivery.channel} sender is configured", permanent=False)
            await sender.send(delivery)
        except DeliveryError as exc:
            return self._failure(delivery, exc)
        return DeliveryOutcome(delivery.id, DeliveryState.DELIVERED, self._now())

    def _failure(self, delivery: Delivery, exc: DeliveryError) -> DeliveryOutcome:
        now = self._now()
        age_s = (now - delivery.created_at).total_seconds()
        if exc.permanent or age_s >= self._settings.give_up_s:
            reason = str(exc) if exc.permanent else f"gave up after {age_s:.0f} s: {exc}"
            log.warning("delivery %s to %s failed for good: %s", delivery.id, delivery.target, reason)
            return DeliveryOutcome(delivery.id, DeliveryState.FAILED, now, reason)
        delay = exc.retry_after_s
        if delay is None:
            delay = retry_delay(self._settings, delivery.attempts, self._rng)
        log.info("delivery %s: %s; retry in %.1f s", delivery.id, exc, delay)
        return DeliveryOutcome(delivery.id, DeliveryState.PENDING, now, str(exc), now + timedelta(seconds=delay))

    def _record_soon(self) -> None:
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_all(), name="outbox-recorder")

    async def _record_all(self) -> None:
        """Record every outcome waiting, in one transaction; those that come in meanwhile go in the next, so a
        burst costs a few commits, not one per send."""
        while self._outcomes:
            await asyncio.sleep(RECORD_GATHER_S)  # let the sends finishing about now join this transaction
            batch, self._outcomes = self._outcomes, []
            try:
                recorded = set(await asyncio.to_thread(self._outbox.record, batch, self.name))
            except Exception:  # a task boundary: the leases run out and the rows are sent again
                log.exception("recording %d delivery outcomes failed", len(batch))
                continue
            for outcome in batch:
                if outcome.delivery_id in recorded:
                    self._count(outcome)
                else:  # our lease ran out meanwhile and another dispatcher took the row over (or it was deleted)
                    log.warning("delivery %s: %s not recorded, no longer ours", outcome.delivery_id, outcome.state)

    def _count(self, outcome: DeliveryOutcome) -> None:
        if outcome.state is DeliveryState.DELIVERED:
            self.sent += 1
        elif outcome.state is DeliveryState.FAILED:
            self.failed += 1
        else:
            self.retried += 1
            if outcome.retry_at is not None and (self._poll_at is None or outcome.retry_at < self._poll_at):
                self._poll_at = outcome.retry_at
                self._wake.set()

    async def _recorded(self) -> None:
        """Wait until every outcome so far is recorded."""
        while True:
            if self._outcomes:
                self._record_soon()
            recorder = self._recorder
            if recorder is None or recorder.done():
                return
            await asyncio.shield(recorder)  # a caller cancelled meanwhile does not cut a write short
