"""The outbox dispatcher: sends every pending delivery until a receiver confirmed it.

Deliveries are read from the database, never from memory, so nothing is lost when the broker is down, a
webhook answers 500 or the service restarts: what was not confirmed is still ``pending`` and is sent again.
That makes delivery at-least-once; the delivery id (the webhook's idempotency key, ``delivery_id`` in every
payload) lets a receiver drop a repeat. Each delivery is its own task (at most ``delivery.parallel``), so a
hanging webhook never holds up an MQTT alert."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

from shopwatch.core.clock import Clock
from shopwatch.core.incidents_config import Delivery as DeliverySettings
from shopwatch.incidents.senders import DeliveryError, Sender
from shopwatch.store.outbox import Delivery, OutboxRepository

log = logging.getLogger(__name__)

IDLE_POLL_S = 5.0  # nothing pending: look again this often (a new delivery wakes the loop at once anyway)
MIN_WAIT_S = 0.005
SENDER_CLOSE_S = 5.0


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
        self._wake = asyncio.Event()
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.retried = 0
        self.failed = 0

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.wall(), UTC)

    def wake(self) -> None:
        """New deliveries were committed: look now instead of at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-dispatcher")

    async def close(self, grace_s: float = 2.0) -> None:
        """Stop sending: sends in flight get ``grace_s`` to finish (cutting an HTTP request off can leave
        httpx's pool waiting on it), the rest are cancelled and stay pending for the next start."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        inflight = list(self._inflight.values())
        if inflight:
            _, late = await asyncio.wait(inflight, timeout=grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
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
                await asyncio.sleep(1.0)

    async def _step(self) -> None:
        self._wake.clear()
        free = self._settings.parallel - len(self._inflight)
        if free > 0:
            due = await asyncio.to_thread(self._outbox.due, self._now(), free, list(self._inflight))
            for delivery in due:
                self._inflight[delivery.id] = asyncio.create_task(self._deliver(delivery))
        if len(self._inflight) >= self._settings.parallel:
            wait = IDLE_POLL_S  # a finishing delivery wakes us
        else:
            next_due = await asyncio.to_thread(self._outbox.next_due, list(self._inflight))
            wait = IDLE_POLL_S if next_due is None else (next_due - self._now()).total_seconds()
            wait = min(IDLE_POLL_S, max(MIN_WAIT_S, wait))
        # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancellation that arrives as its
        # timeout fires, and this loop would then never stop.
        try:
            async with asyncio.timeout(wait):
                await self._wake.wait()
        except TimeoutError:
            pass

    async def run_due(self) -> int:
        """Send every delivery due now and wait for the outcomes (for tests with an injected clock)."""
        due = await asyncio.to_thread(self._outbox.due, self._now(), 10_000, list(self._inflight))
        await asyncio.gather(*(self._deliver(d) for d in due))
        return len(due)

    async def _deliver(self, delivery: Delivery) -> None:
        try:
            await self._attempt(delivery)
        except Exception:  # a task boundary: log, and the row stays pending for a later attempt
            log.exception("delivery %s failed unexpectedly", delivery.id)
        finally:
            self._inflight.pop(delivery.id, None)
            self._wake.set()

    async def _attempt(self, delivery: Delivery) -> None:
        sender = self._senders.get(delivery.channel)
        try:
            if sender is None:
                raise DeliveryError(f"no {delivery.channel} sender is configured", permanent=False)
            await sender.send(delivery)
        except DeliveryError as exc:
            await self._record_failure(delivery, exc)
            return
        await asyncio.to_thread(self._outbox.delivered, delivery.id, self._now())
        self.sent += 1

    async def _record_failure(self, delivery: Delivery, exc: DeliveryError) -> None:
        now = self._now()
        age_s = (now - delivery.created_at).total_seconds()
        if exc.permanent or age_s >= self._settings.give_up_s:
            reason = str(exc) if exc.permanent else f"gave up after {age_s:.0f} s: {exc}"
            await asyncio.to_thread(self._outbox.failed, delivery.id, reason)
            self.failed += 1
            log.warning("delivery %s to %s failed for good: %s", delivery.id, delivery.target, reason)
            return
        delay = retry_delay(self._settings, delivery.attempts, self._rng)
        await asyncio.to_thread(self._outbox.retry, delivery.id, str(exc), now + timedelta(seconds=delay))
        self.retried += 1
        log.info("delivery %s: %s; retry in %.1f s", delivery.id, exc, delay)
