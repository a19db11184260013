"""The incidents service: takes detection events, stores them with their pictures, links them across
cameras, queues their patrol alerts in the same transaction, runs the workflow, escalations, retention and
auto-deterrence, and wakes live consoles and the outbox dispatcher.

``submit`` is what the ingest supervisor calls on the event loop: it only puts the event on a bounded queue
(dropping and counting past ``incidents.queue_size``); one task stores events in arrival order, the blocking
database and file work in a thread. Events queued together (a burst) are stored together: their files in one
thread hop, their rows in one transaction, so a burst costs one commit per batch instead of one per event; and
the next batch's files are written while the previous batch commits (two stages, in order)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shopwatch.core.clock import Clock
from shopwatch.core.config import CameraConfig
from shopwatch.core.directory import CameraDirectory
from shopwatch.core.errors import Conflict, NotFound
from shopwatch.core.events import Event
from shopwatch.core.incident_records import Incident, NewDelivery, NewEvent, StoredEvent, Transition
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.incidents import workflow
from shopwatch.incidents.alerts import AlertContext, UrlSigner, alert_payload
from shopwatch.incidents.archive import EventArchive
from shopwatch.incidents.committing import commit_batch, remove_unstored_media, save_media
from shopwatch.incidents.deterrence import MAX_WAITING, AutoDeterrence, Trigger
from shopwatch.incidents.dispatcher import Dispatcher
from shopwatch.incidents.feed import LiveFeed
from shopwatch.incidents.linking import Link, Linker, Place, Sighting
from shopwatch.incidents.media import MediaStore
from shopwatch.incidents.records import Intake, incident_of, new_event
from shopwatch.incidents.routing import Router
from shopwatch.incidents.search import EventSearch
from shopwatch.incidents.teaching import IgnoredSpots, NothingToIgnore
from shopwatch.incidents.tips import TipDesk
from shopwatch.store.events import EventRepository
from shopwatch.store.outbox import OutboxRepository, as_pending

log = logging.getLogger(__name__)

HOUSEKEEPING_S = 1.0  # escalations are checked this often
RETENTION_BATCH = 200
STORE_BATCH = 64  # queued events stored in one transaction at most
PREPARED_AHEAD = 2  # batches with their files written, waiting for their commit


@dataclass(frozen=True, slots=True)
class _Prepared:
    events: list[Event]  # as they were queued
    records: list[NewEvent]  # those whose files were written
    failed: list[tuple[Event, Exception]]


class DuplicateEvent(Conflict):
    """Another report of a visit stored already (``store.event_once``): nothing was stored for it."""

    def __str__(self) -> str:
        return f"event {self.args[0]} on {self.args[1]} is another report of a visit stored already"


class UnknownEvent(NotFound, KeyError):
    def __str__(self) -> str:
        return f"no event {self.args[0]!r}"


@dataclass(frozen=True, slots=True)
class Parts:
    """What the service is built from (``incidents.build`` makes the real ones)."""

    events: EventRepository
    outbox: OutboxRepository
    media: MediaStore
    router: Router
    signer: UrlSigner
    dispatcher: Dispatcher
    deterrence: AutoDeterrence
    spots: IgnoredSpots | None = None  # "ignore this spot" on a false positive; None: not offered
    tips: TipDesk | None = None
    search: EventSearch | None = None


class IncidentService:
    def __init__(self, settings: IncidentsSettings, fleet: CameraDirectory, parts: Parts, clock: Clock) -> None:
        self.settings = settings
        self._fleet = fleet
        self.events = parts.events
        self.outbox = parts.outbox
        self.media = parts.media
        self.router = parts.router
        self.signer = parts.signer
        self.dispatcher = parts.dispatcher
        self._deterrence = parts.deterrence
        self.spots = parts.spots
        self.tips = parts.tips
        self.search = parts.search
        self._clock = clock
        self.linker = Linker(settings.linking)
        self.feed = LiveFeed()
        self._queue: asyncio.Queue[Event] = asyncio.Queue(settings.queue_size)
        self._prepared: asyncio.Queue[_Prepared] = asyncio.Queue(PREPARED_AHEAD)
        self._tasks: list[asyncio.Task[None]] = []
        self._side_tasks: set[asyncio.Task[None]] = set()
        self.stored = 0
        self.dropped = 0
        self.duplicates = 0  # events another reader of the camera had reported already

    # -- life ----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        self.feed.last_seq = await asyncio.to_thread(self.events.last_seq)
        await self.restore_links()
        await self.resume_confirmations()
        self.dispatcher.start()
        self._tasks = [
            asyncio.create_task(self._store_loop(), name="incidents-store"),
            asyncio.create_task(self._commit_loop(), name="incidents-commit"),
            asyncio.create_task(self._housekeeping_loop(), name="incidents-housekeeping"),
        ]

    async def resume_confirmations(self) -> None:
        """Warnings that waited for an operator's acknowledgement when the service stopped wait again for the
        time they had left (or are recorded not played): an acknowledgement after a restart still plays."""
        for event in await asyncio.to_thread(self.events.awaiting_confirmation, MAX_WAITING):
            trigger = Trigger(event.id, event.camera_id, event.type, event.confidence)
            await self._deterrence.resume(trigger, event.deterrence or {}, self._record_deterrence)

    async def close(self) -> None:
        """Stop taking events (those still queued are stored first), then stop sending."""
        if self._tasks:
            await self._queue.join()
        tasks = [*self._tasks, *self._side_tasks]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks = []
        await self.dispatcher.close()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self._clock.wall(), UTC)

    def archive(self) -> EventArchive:
        """The read door for the API: events, incidents, deliveries, files, signed links, the live feed."""
        return EventArchive(self.events, self.outbox, self.media, self.signer, self.feed, self.now)

    async def restore_links(self) -> int:
        """Give cross-camera linking back what it remembered before a restart (the last two windows of events,
        as it keeps), so the next camera along the street still joins an incident opened before. Returns the
        number of events remembered."""
        if not self.settings.linking.enabled:
            return 0
        since = self._clock.wall() - 2 * self.settings.linking.window_s
        stored = await asyncio.to_thread(self.events.linking_window, datetime.fromtimestamp(since, UTC))
        places = self._places()
        history = [
            (Sighting(e.event_id, e.camera_id, e.type, places[e.camera_id], e.start.timestamp()), e.incident_id)
            for e in stored
            if e.camera_id in places
        ]
        self.linker.restore(history, since)
        return len(history)

    # -- events in -----------------------------------------------------------------------------------------

    def submit(self, event: Event) -> bool:
        """Queue an event without blocking; False (and counted) when the queue is full."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            log.error(
                "incident queue full (%d): event %s on %s dropped", self._queue.maxsize, event.id, event.camera_id
            )
            return False
        return True

    async def _store_loop(self) -> None:
        """First stage: take what is queued (up to ``STORE_BATCH``), write its files, link it, route it."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < STORE_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                prepared = await self._prepare(batch)
            except Exception:  # a task boundary: one bad batch must not stop the store
                log.exception("preparing %d events failed", len(batch))
                prepared = _Prepared(batch, [], [])
            await self._prepared.put(prepared)

    async def _commit_loop(self) -> None:
        """Second stage, in the same order: commit a batch's rows while the next batch's files are written."""
        while True:
            prepared = await self._prepared.get()
            try:
                _, failed = await self._finish(prepared)
                for event, exc in failed:
                    log.error("storing event %s on %s failed: %s", event.id, event.camera_id, exc)
            except Exception:  # a task boundary: one bad batch must not stop the store
                log.exception("storing %d events failed", len(prepared.events))
            finally:
                for _ in prepared.events:
                    self._queue.task_done()

    async def ingest(self, event: Event) -> StoredEvent:
        """Store one event with its media, link it, queue its alerts; returns it as stored. ``DuplicateEvent``
        when it is another report of a visit stored already (nothing of it is kept)."""
        stored, failed = await self._finish(await self._prepare([event]))
        if failed:
            raise failed[0][1]
        if not stored:
            raise DuplicateEvent(event.id, event.camera_id)
        return stored[0]

    async def _prepare(self, events: list[Event]) -> _Prepared:
        """Events that arrived together: their files (one thread hop for all; a disk error costs that event
        only), their links and their records."""
        saved = await asyncio.to_thread(save_media, self.media, events)
        failed: list[tuple[Event, Exception]] = [
            (e, m) for e, m in zip(events, saved, strict=True) if isinstance(m, Exception)
        ]
        intake = Intake(self.router, self.signer, self._clock.wall(), self.now())
        places = self._places()
        records = [
            new_event(event, camera, media, self._link(event, camera, places), intake)
            for event, media in zip(events, saved, strict=True)
            if not isinstance(media, Exception)
            for camera in [self._fleet.camera(event.camera_id)]
        ]
        return _Prepared(events, records, failed)

    async def _finish(self, prepared: _Prepared) -> tuple[list[StoredEvent], list[tuple[Event, Exception]]]:
        """Commit a prepared batch in one transaction and hand its alerts to the dispatcher. Returns the events
        stored and those that failed, with why; duplicates of stored events are in neither (nothing of them is
        kept: no row, no alert, no files)."""
        # Rows committed already leased to our dispatcher, then handed to it: sent without being read back.
        lease = self.dispatcher.lease()
        outcome = await commit_batch(self.events, prepared.records, lease)
        failed = list(prepared.failed)
        by_id = {e.id: e for e in prepared.events}
        for item, exc in outcome.refused:
            self.linker.forget(item.event.id)
            failed.append((by_id[item.event.id], exc))
        if outcome.duplicates:
            await self._drop_duplicates(outcome.duplicates)
        done = outcome.done
        self.stored += len(done)
        if done and lease is not None:
            self.dispatcher.hand([as_pending(d, lease) for item in done for d in item.deliveries])
        elif done:
            self.dispatcher.wake()
        if done:
            self.feed.publish(max(outcome.seqs))
        for item in done:
            self._deter(item.event)
        return [item.event for item in done], failed

    def _deter(self, stored: StoredEvent) -> None:
        if self._deterrence.rule_for(stored.camera_id, stored.type) is not None:
            trigger = Trigger(stored.id, stored.camera_id, stored.type, stored.confidence)
            self._spawn(self._deterrence.run(trigger, self._record_deterrence))

    # -- events stored by others (Ray shards: ``cluster/head_events.py``) -----------------------------------

    def link_stored(self, events: list[StoredEvent]) -> list[tuple[str, Incident]]:
        """Link events another process stored (oldest first) as ``_prepare`` links those this service stores:
        for each that joined an incident, its id and the incident to write (``store.inbox.EventInbox.settle``)."""
        places = self._places()
        links: list[tuple[str, Incident]] = []
        for event in events:
            if event.camera_id not in places:
                continue
            sighting = Sighting(event.id, event.camera_id, event.type, places[event.camera_id], event.start.timestamp())
            link = self.linker.add(sighting, places)
            if (incident := incident_of(link, event.type)) is not None:
                links.append((event.id, incident))
        return links

    def settled(self, events: list[StoredEvent], seqs: list[int]) -> None:
        """Events another process stored whose links were written (``seqs``: their feed numbers): consoles are
        woken and their auto-deterrence runs, as for an event this service stored."""
        if seqs:
            self.feed.publish(max(seqs))
        for event in events:
            self._deter(event)

    async def _drop_duplicates(self, duplicates: list[NewEvent]) -> None:
        """Another report of a visit already stored (another reader of the camera): forget its link, remove the
        files written for it, count it."""
        self.duplicates += len(duplicates)
        for item in duplicates:
            self.linker.forget(item.event.id)
            log.info("event %s on %s is a duplicate of one stored: dropped", item.event.id, item.event.camera_id)
        await asyncio.to_thread(remove_unstored_media, self.events, self.media, [item.event for item in duplicates])

    def _places(self) -> dict[str, Place]:
        return {c.id: Place(c.location.lat, c.location.lon) for c in self._fleet.cameras() if c.location is not None}

    def _link(self, event: Event, camera: CameraConfig | None, places: Mapping[str, Place]) -> Link | None:
        if camera is None or camera.id not in places:
            return None
        sighting = Sighting(event.id, camera.id, event.type.value, places[camera.id], event.start)
        return self.linker.add(sighting, places)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.create_task(coro)
        self._side_tasks.add(task)
        task.add_done_callback(self._side_tasks.discard)

    async def _record_deterrence(self, event_id: str, outcome: dict[str, Any]) -> None:
        seq = await asyncio.to_thread(self.events.set_deterrence, event_id, outcome, self.now())
        if seq is not None:
            self.feed.publish(seq)

    # -- workflow ------------------------------------------------------------------------------------------

    async def transition(
        self, event_id: str, wanted: workflow.Status, user: str, note: str, *, ignore_spot: bool = False
    ) -> StoredEvent:
        """Move an event along the workflow. Raises ``UnknownEvent`` or ``workflow.IllegalTransition``.

        ``ignore_spot`` (with ``false_positive`` only): its patches' areas become ignored spots of its camera
        (``NothingToIgnore`` for an event without patches; checked before anything changes)."""
        if ignore_spot and wanted is not workflow.Status.FALSE_POSITIVE:
            raise NothingToIgnore(f"ignore_spot goes with false_positive only, not with {wanted.value}")
        if ignore_spot and self.spots is None:
            raise NothingToIgnore("ignored spots are not set up on this service")
        for _ in range(3):  # another operator may move it between our read and our write
            event = await asyncio.to_thread(self.events.get, event_id)
            if event is None:
                raise UnknownEvent(event_id)
            current = workflow.Status(event.status)
            workflow.check(event_id, current, wanted)
            # the spots are written in the transaction of the status change: both or neither
            spots = self.spots.lesson(event, user)[1] if ignore_spot and self.spots is not None else None
            change = Transition(event_id, current.value, wanted.value, user, self.now(), note)
            seq = await asyncio.to_thread(self.events.set_status, change, spots)
            if seq is not None:
                self.feed.publish(seq)
                if wanted is workflow.Status.FALSE_POSITIVE:
                    self.linker.forget(event_id)
                    self._spawn(self._deterrence.dismissed(event_id, wanted.value))
                elif wanted is workflow.Status.ACKNOWLEDGED:
                    self._spawn(self._deterrence.acknowledged(event_id, user))
                return replace(event, status=wanted.value, updated_at=change.at)
        raise workflow.IllegalTransition(event_id, current, wanted)

    # -- escalation and retention --------------------------------------------------------------------------

    async def escalate_due(self) -> list[str]:
        """Queue supervisor alerts for events nobody acknowledged in time; returns their ids."""
        now = self.now()

        def build(event: StoredEvent) -> list[NewDelivery]:
            camera = self._fleet.camera(event.camera_id)

            def payload(delivery_id: str, reason: str) -> dict[str, Any]:
                context = AlertContext(camera, None, self._clock.wall())
                body = alert_payload(event, context, self.signer, delivery_id=delivery_id, reason=reason)
                unacked_s = (now - event.stored_at).total_seconds()
                return {
                    **body,
                    "incident_id": event.incident_id,
                    "teams": event.teams,
                    "escalation_contacts": self.router.contacts(event.grid),
                    "unacknowledged_s": round(unacked_s),
                }

            return self.router.escalation_deliveries(event, payload, now)

        escalated = await asyncio.to_thread(self.events.escalate_due, now, build)
        if escalated:
            log.warning("escalated %d unacknowledged events to the supervisor", len(escalated))
            self.dispatcher.wake()
        return escalated

    async def apply_retention(self) -> int:
        """Delete events past ``max_age_days``, then the oldest until media fit ``max_disk_mb``."""
        settings = self.settings.retention
        cutoff = self.now() - timedelta(days=settings.max_age_days)
        budget = int(settings.max_disk_mb * 1024 * 1024)
        removed = 0
        while True:
            oldest = await asyncio.to_thread(self.events.oldest_media, RETENTION_BATCH)
            total = await asyncio.to_thread(self.events.media_bytes)
            doomed: list[StoredEvent] = []
            for event in oldest:
                if event.start >= cutoff and total <= budget:
                    break
                doomed.append(event)
                total -= event.media_bytes
            if not doomed:
                return removed
            await asyncio.to_thread(self.events.delete, [e.id for e in doomed])
            for event in doomed:
                await asyncio.to_thread(self.media.remove, event.id, event.start)
            removed += len(doomed)

    async def _housekeeping_loop(self) -> None:
        last_retention = -float("inf")
        while True:
            try:
                await self.escalate_due()
                await self._deterrence.expire_due()
                if self._clock.monotonic() - last_retention >= self.settings.retention.interval_s:
                    last_retention = self._clock.monotonic()
                    if removed := await self.apply_retention():
                        log.info("retention removed %d events", removed)
            except Exception:  # a task boundary: a database hiccup must not end escalations for good
                log.exception("incident housekeeping failed")
            await asyncio.sleep(HOUSEKEEPING_S)
