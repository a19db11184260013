"""The picture a robot message shows: an event's snapshot file (the actor's, else the first), read from the
data dir (blocking: the sender calls it from a thread)."""

from __future__ import annotations

from shopwatch.incidents.media import MediaStore
from shopwatch.incidents.robots.sender import PictureSource
from shopwatch.store.events import EventRepository


def event_pictures(events: EventRepository, media: MediaStore) -> PictureSource:
    def picture(event_id: str) -> bytes | None:
        event = events.get(event_id)
        if event is None or not event.snapshots:
            return None
        relative = event.snapshots.get("actor") or next(iter(event.snapshots.values()))
        try:
            return media.path(relative).read_bytes()
        except (OSError, ValueError):  # removed by retention meanwhile, or not under the events directory
            return None

    return picture
