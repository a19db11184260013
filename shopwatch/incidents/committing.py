"""The blocking halves of storing a batch of events: their files, their one transaction (each event once), and
the files of those that turned out to be duplicates. The incidents service runs them in threads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError

from shopwatch.core.events import Event
from shopwatch.core.incident_records import Lease, NewEvent, StoredEvent
from shopwatch.incidents.media import MediaStore, StoredMedia
from shopwatch.store.events import Added, EventRepository

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Committed:
    done: list[NewEvent]
    seqs: list[int]  # feed numbers written
    duplicates: list[NewEvent]  # reports of events stored before: nothing written for them
    refused: list[tuple[NewEvent, Exception]]


def _skipped(batch: Sequence[NewEvent], added: Added) -> list[NewEvent]:
    skipped = set(added.duplicates)
    return [item for item in batch if item.event.id in skipped]


async def commit_batch(events: EventRepository, batch: list[NewEvent], lease: Lease | None) -> Committed:
    """One transaction for the batch; if it fails (a database refusal), each event alone, so one bad event does
    not cost the others."""
    if not batch:
        return Committed([], [], [], [])
    try:
        added = await asyncio.to_thread(events.add_many, batch, lease)
        return Committed(added.stored(batch), added.seqs, _skipped(batch, added), [])
    except SQLAlchemyError as exc:
        if len(batch) == 1:
            return Committed([], [], [], [(batch[0], exc)])
    result = Committed([], [], [], [])
    for item in batch:
        try:
            added = await asyncio.to_thread(events.add_many, [item], lease)
        except SQLAlchemyError as exc:
            result.refused.append((item, exc))
            continue
        result.seqs.extend(added.seqs)
        (result.duplicates if added.duplicates else result.done).append(item)
    return result


def save_media(media: MediaStore, events: Sequence[Event]) -> list[StoredMedia | OSError]:
    """Blocking: write each event's files; a disk error costs that event only."""
    saved: list[StoredMedia | OSError] = []
    for event in events:
        try:
            saved.append(media.save(event))
        except OSError as exc:
            saved.append(exc)
    return saved


def remove_unstored_media(events: EventRepository, media: MediaStore, duplicates: Sequence[StoredEvent]) -> None:
    """Blocking: remove the files written for duplicates; not those of one stored under the same id (the same
    report again), which are the stored event's own."""
    for event in duplicates:
        if events.get(event.id) is not None:
            continue
        try:
            media.remove(event.id, event.start)
        except OSError as exc:
            log.warning("could not remove the files of duplicate event %s: %s", event.id, exc)
