"""``/api/events``: stored detection events (filters, cursor pages), their pictures and clip, the workflow
(``POST /api/events/{id}/transitions``), their deliveries, and the live stream for consoles (SSE).

A caller scoped to some grids (a patrol) sees only those grids' events: others answer 404, as if absent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import FileResponse, StreamingResponse

from shopwatch.api.camera_feed import CAMERA_POLL_S, CameraStates
from shopwatch.api.deps import FleetDep
from shopwatch.api.incident_deps import ArchiveDep, Caller, CallerDep, IncidentsDep
from shopwatch.api.incident_schemas import (
    DeliveryPublic,
    EventPage,
    EventPublic,
    TransitionIn,
    TransitionPublic,
    feed_message,
)
from shopwatch.api.streams import StreamGuardDep
from shopwatch.core.errors import Forbidden, Invalid, NotFound
from shopwatch.core.incident_records import StoredEvent
from shopwatch.incidents.archive import EventArchive
from shopwatch.incidents.workflow import Status
from shopwatch.store.events import EventQuery
from shopwatch.store.outbox import DeliveryQuery

router = APIRouter(prefix="/events", tags=["events"])

KEEPALIVE_S = 15.0  # a comment line this often keeps proxies from closing an idle stream
FEED_BATCH = 500
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such event (or not in the caller's grids)."}}


@router.get("", response_model=EventPage, summary="Stored events, newest first")
async def list_events(
    archive: ArchiveDep,
    caller: CallerDep,
    camera: Annotated[list[str] | None, Query(description="Only these cameras (repeat for several).")] = None,
    grid: Annotated[list[str] | None, Query(description="Only these grids.")] = None,
    type: Annotated[list[str] | None, Query(description="Only these event types.")] = None,  # noqa: A002
    status_: Annotated[list[Status] | None, Query(alias="status", description="Only these statuses.")] = None,
    incident: Annotated[str | None, Query(max_length=32, description="Only events of this incident.")] = None,
    since: Annotated[datetime | None, Query(description="Start at or after (ISO 8601 with zone).")] = None,
    until: Annotated[datetime | None, Query(description="Start before.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="next_cursor of the previous page.")] = None,
) -> EventPage:
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise Invalid("expected times with a zone (Z or +08:00)")
    query = EventQuery(
        camera_ids=frozenset(camera or ()),
        grids=caller.scope(grid),
        types=frozenset(type or ()),
        statuses=frozenset(s.value for s in status_ or ()),
        incident_id=incident,
        since=since,
        until=until,
        limit=limit,
        cursor=cursor,
    )
    page = await archive.events(query)
    return EventPage(events=[EventPublic.of(e) for e in page.events], next_cursor=page.next_cursor)


@router.get("/stream", summary="Live events (Server-Sent Events)", response_class=StreamingResponse)
async def stream_events(
    request: Request,
    archive: ArchiveDep,
    caller: CallerDep,
    guard: StreamGuardDep,
    fleet: FleetDep,
    last_event_id: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, le=2**63 - 1, description="Resume after this feed number.")
    ] = None,
    cameras: Annotated[bool, Query(description="Add ``camera`` state messages (the console's wall).")] = False,
) -> StreamingResponse:
    """Each message is ``created``, ``transition``, ``linked`` or ``deterrence`` with the event as it is now;
    its ``id`` is the feed number. Reconnect with ``Last-Event-ID`` to get exactly what was missed. With
    ``cameras=true`` also ``camera`` messages (no ``id``): every visible camera's state, then its changes."""
    after = archive.last_seq if last_event_id is None else last_event_id
    camera_states = CameraStates()
    states = (lambda: camera_states.changes(fleet, caller.sees)) if cameras else None
    return StreamingResponse(
        guard.stream(_feed(request, archive, caller, after, states)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _feed(
    request: Request, archive: EventArchive, caller: Caller, after: int, states: Callable[[], str] | None
) -> AsyncIterator[str]:
    """The archive's feed from ``after``, read again only when a commit woke the listener; with ``states``,
    camera changes checked every ``CAMERA_POLL_S`` between."""
    listener = archive.listen()
    poll_s = CAMERA_POLL_S if states is not None else KEEPALIVE_S
    quiet_s, woke = 0.0, True
    try:
        yield "retry: 3000\n: connected\n\n"
        while not await request.is_disconnected():
            if woke:
                listener.clear()  # before reading: a commit after this wakes the wait below
                entries = await archive.feed_since(after, FEED_BATCH)
                for entry in entries:
                    after = entry.seq
                    if caller.sees(entry.event.grid):
                        yield feed_message(entry)
                if len(entries) == FEED_BATCH:
                    continue
            changed = states() if states is not None else ""
            if changed:
                yield changed
            try:
                async with asyncio.timeout(poll_s):  # not wait_for: it can swallow a cancel on 3.11
                    await listener.wait()
                quiet_s, woke = 0.0, True
            except TimeoutError:
                quiet_s, woke = quiet_s + poll_s, False
                if quiet_s >= KEEPALIVE_S:
                    quiet_s = 0.0
                    yield ": keep-alive\n\n"
    finally:
        archive.stop_listening(listener)


async def _visible(archive: EventArchive, caller: Caller, event_id: str) -> StoredEvent:
    event = await archive.event(event_id)
    if event is None or not caller.sees(event.grid):
        raise NotFound(f"no event {event_id!r}")
    return event


@router.get("/{event_id}", response_model=EventPublic, responses=_NOT_FOUND, summary="One event")
async def get_event(event_id: str, archive: ArchiveDep, caller: CallerDep) -> EventPublic:
    return EventPublic.of(await _visible(archive, caller, event_id))


@router.get("/{event_id}/snapshots/{name}.jpg", response_class=FileResponse, responses=_NOT_FOUND)
async def get_snapshot(event_id: str, name: str, archive: ArchiveDep, caller: CallerDep) -> FileResponse:
    event = await _visible(archive, caller, event_id)
    if name not in event.snapshots:
        raise NotFound(f"event {event_id!r} has no picture {name!r}")
    return FileResponse(archive.file(event.snapshots[name]), media_type="image/jpeg")


@router.get("/{event_id}/clip.mp4", response_class=FileResponse, responses=_NOT_FOUND)
async def get_clip(event_id: str, archive: ArchiveDep, caller: CallerDep) -> FileResponse:
    event = await _visible(archive, caller, event_id)
    if event.clip is None:
        raise NotFound(f"event {event_id!r} has no clip")
    return FileResponse(archive.file(event.clip), media_type="video/mp4")


@router.get("/{event_id}/transitions", response_model=list[TransitionPublic], responses=_NOT_FOUND)
async def get_transitions(event_id: str, archive: ArchiveDep, caller: CallerDep) -> list[TransitionPublic]:
    await _visible(archive, caller, event_id)
    return [TransitionPublic.of(t) for t in await archive.transitions(event_id)]


@router.post(
    "/{event_id}/transitions",
    response_model=EventPublic,
    summary="Move the event along the workflow",
    responses={**_NOT_FOUND, 409: {"description": "Not allowed from the event's status."}, 403: {}},
)
async def post_transition(
    event_id: str, body: TransitionIn, service: IncidentsDep, archive: ArchiveDep, caller: CallerDep
) -> EventPublic:
    await _visible(archive, caller, event_id)
    if body.status is not Status.ACKNOWLEDGED and not caller.may_work:
        raise Forbidden("this caller may only acknowledge events")
    changed = await service.transition(event_id, body.status, caller.name, body.note, ignore_spot=body.ignore_spot)
    return EventPublic.of(changed)


@router.get("/{event_id}/deliveries", response_model=list[DeliveryPublic], responses=_NOT_FOUND)
async def get_event_deliveries(event_id: str, archive: ArchiveDep, caller: CallerDep) -> list[DeliveryPublic]:
    await _visible(archive, caller, event_id)
    found = await archive.deliveries(DeliveryQuery(event_id=event_id, limit=1000))
    return [DeliveryPublic.of(d) for d in found]
