"""Cross-camera incidents and auto-deterrence for the events Ray shards store: the head takes them from its
inbox (``store/inbox.py``: a row per event a shard stored, written in the event's own transaction), links them
with the incidents service's linker as it links the events it stores itself, writes the links in the
transaction that takes them out of the inbox, then wakes live consoles and runs their auto-deterrence.

Each event is linked once, also across a head restart: until the transaction that writes its links commits,
its inbox row stays (a head that dies before finds it again at its next start, having rebuilt its linker from
the store); after, it is gone. Its auto-deterrence starts after that commit: a head that dies in between does
not play the warning (never twice).

When: after each health pull, when the feed grew (``cluster/feed_wake.py``: a shard stored something), while
the last round left work (a full batch, a database error), and every ``SWEEP_S`` anyway (a transaction that
committed after a later one: its feed number is below the one already seen)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy.exc import SQLAlchemyError

from shopwatch.cluster.feed_wake import FeedWake
from shopwatch.core.clock import Clock
from shopwatch.incidents.service import IncidentService
from shopwatch.store.inbox import EventInbox

log = logging.getLogger(__name__)

BATCH = 64  # events linked per transaction
SWEEP_S = 5.0


class HeadEvents:
    def __init__(self, inbox: EventInbox, incidents: IncidentService, wake: FeedWake, clock: Clock) -> None:
        self._inbox = inbox
        self._incidents = incidents
        self._wake = wake
        self._clock = clock
        self._behind = True  # at start: what waited while no head ran
        self._swept_at = -float("inf")
        self.linked = 0  # events taken from the inbox (linked or not)

    async def after_pull(self) -> None:
        """The supervisor's hook after each health round."""
        grew = await self._wake.check()
        if grew or self._behind or self._clock.monotonic() - self._swept_at >= SWEEP_S:
            await self.check()

    async def check(self) -> int:
        """One round: the oldest waiting events (up to ``BATCH``) linked, written, deterred; returns how many."""
        self._swept_at = self._clock.monotonic()
        try:
            events = await asyncio.to_thread(self._inbox.waiting, BATCH)
        except SQLAlchemyError as exc:
            log.warning("cannot read the shards' new events: %s", type(exc).__name__)
            self._behind = True
            return 0
        self._behind = len(events) == BATCH
        if not events:
            return 0
        links = self._incidents.link_stored(events)
        now = datetime.fromtimestamp(self._clock.wall(), UTC)
        try:
            settled = await asyncio.to_thread(self._inbox.settle, [e.id for e in events], links, now)
        except SQLAlchemyError as exc:  # nothing written: linked again at the next round
            log.warning("cannot write the links of %d events the shards stored: %s", len(events), type(exc).__name__)
            self._forget(e.id for e in events)
            self._behind = True
            return 0
        taken = set(settled.taken)
        self._forget(e.id for e in events if e.id not in taken)  # another head took them
        mine = [e for e in events if e.id in taken]
        self._incidents.settled(mine, settled.seqs)
        self.linked += len(mine)
        return len(mine)

    def _forget(self, event_ids: Iterable[str]) -> None:
        for event_id in event_ids:
            self._incidents.linker.forget(event_id)
