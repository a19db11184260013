"""Teaching detection from operators: a false positive marked "ignore this spot" stores its patches' areas as
ignored spots of that camera's surface (``core.learnt``), which the camera's card-posting rule then leaves out.

The spots live in the database (``store.learnt``); a write bumps the registry revision, so the running service
hands them to the camera's worker on its next poll (``service.reload_interval_s``), without a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Connection

from shopwatch.core.errors import Invalid, NotFound
from shopwatch.core.events import EventType
from shopwatch.core.incident_records import StoredEvent
from shopwatch.core.learnt import IgnoredSpot, spot_box
from shopwatch.store.learnt import LearntRepository, new_spots, write_spots


class NothingToIgnore(Invalid):
    """``ignore_spot`` on an event without patches (not card posting), or with a status other than false_positive."""


class IgnoredSpots:
    def __init__(self, repo: LearntRepository, now: Callable[[], datetime]) -> None:
        self._repo = repo
        self._now = now

    @staticmethod
    def check(event: StoredEvent) -> None:
        """Raise ``NothingToIgnore`` unless ``event`` has patches a spot can be made of."""
        if event.type != EventType.CARD_POSTING.value or not event.detail.get("patches"):
            raise NothingToIgnore(
                f"event {event.id} ({event.type}) has no card patches: there is no spot to ignore"
            )

    def lesson(self, event: StoredEvent, user: str) -> tuple[list[IgnoredSpot], Callable[[Connection], None]]:
        """One ignored spot per patch of the (card-posting) event, on its camera and surface zone, and the write
        that stores them: the caller runs it in the transaction that marks the event false_positive."""
        self.check(event)
        boxes = [spot_box((p[0], p[1], p[2], p[3])) for p in event.detail["patches"]]
        spots = new_spots(event.zone, boxes, (event.id, user), self._now())
        return spots, lambda conn: write_spots(conn, event.camera_id, spots)

    async def list(self, camera_id: str) -> list[IgnoredSpot]:
        return await asyncio.to_thread(self._repo.spots, camera_id)

    async def clear(self, camera_id: str, spot_id: str | None = None) -> int:
        """Remove one spot (``NotFound`` if the camera has no such spot) or every spot of the camera."""
        gone = await asyncio.to_thread(self._repo.delete_spots, camera_id, spot_id)
        if spot_id is not None and not gone:
            raise NotFound(f"camera {camera_id!r} has no ignored spot {spot_id!r}")
        return gone
