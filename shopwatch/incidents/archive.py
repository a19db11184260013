"""What readers (the API, consoles) ask of incidents: stored events and incidents, their transitions, alert
deliveries, the files of an event, signed-URL checks and the live feed's wake-ups. One door, so a route never
reaches into the repositories, the media store or the signer behind it; each database read runs in a thread.

Writes (a transition) stay with ``IncidentService``; this holds no state of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from shopwatch.core.incident_records import Delivery, FeedEntry, Incident, StoredEvent, StoredEventPage, Transition
from shopwatch.incidents.alerts import UrlSigner
from shopwatch.incidents.feed import LiveFeed
from shopwatch.incidents.media import MediaStore
from shopwatch.store.event_stats import EventStats, StatsQuery
from shopwatch.store.events import EventQuery, EventRepository
from shopwatch.store.outbox import DeliveryQuery, OutboxRepository


class EventArchive:
    def __init__(
        self,
        events: EventRepository,
        outbox: OutboxRepository,
        media: MediaStore,
        signer: UrlSigner,
        feed: LiveFeed,
        now: Callable[[], datetime],
    ) -> None:
        self._events = events
        self._outbox = outbox
        self._media = media
        self._signer = signer
        self._feed = feed
        self._now = now

    # -- events and incidents ------------------------------------------------------------------------------

    async def event(self, event_id: str) -> StoredEvent | None:
        return await asyncio.to_thread(self._events.get, event_id)

    async def events(self, query: EventQuery) -> StoredEventPage:
        """One page; ``BadCursor`` (invalid) for a cursor of another query."""
        return await asyncio.to_thread(self._events.query, query)

    async def stats(self, query: StatsQuery) -> EventStats:
        return await asyncio.to_thread(self._events.stats, query)

    async def transitions(self, event_id: str) -> list[Transition]:
        return await asyncio.to_thread(self._events.transitions, event_id)

    async def incident(self, incident_id: str) -> Incident | None:
        return await asyncio.to_thread(self._events.incident, incident_id)

    async def incidents(self, limit: int, grids: frozenset[str] | None) -> list[Incident]:
        return await asyncio.to_thread(self._events.incidents, limit, grids)

    # -- deliveries ----------------------------------------------------------------------------------------

    async def delivery(self, delivery_id: str) -> Delivery | None:
        return await asyncio.to_thread(self._outbox.get, delivery_id)

    async def deliveries(self, query: DeliveryQuery) -> list[Delivery]:
        return await asyncio.to_thread(self._outbox.find, query)

    async def delivery_counts(self, grids: frozenset[str] | None) -> dict[str, int]:
        return await asyncio.to_thread(self._outbox.counts, grids)

    # -- files ---------------------------------------------------------------------------------------------

    def file(self, relative: str) -> Path:
        """Where a stored picture or clip (as named in the event) lies."""
        return self._media.path(relative)

    def signature_valid(self, event_id: str, name: str, expires: int, sig: str) -> bool:
        """An alert link's signature is ours and not expired."""
        return self._signer.valid(event_id, name, expires, sig, self._now().timestamp())

    # -- the live feed -------------------------------------------------------------------------------------

    @property
    def last_seq(self) -> int:
        """The newest feed number committed."""
        return self._feed.last_seq

    async def feed_since(self, seq: int, limit: int) -> list[FeedEntry]:
        return await asyncio.to_thread(self._events.feed_since, seq, limit)

    def listen(self) -> asyncio.Event:
        """An event set whenever new feed entries are committed; give it back with ``stop_listening``."""
        return self._feed.listen()

    def stop_listening(self, listener: asyncio.Event) -> None:
        self._feed.stop_listening(listener)
