"""Search: the events and tips of a place in a window of time, oldest first, a page at a time.

"What did the cameras along this street see between 22:00 and 23:00": the place becomes cameras (a circle or a
corridor around a street's line, found in the fleet's positions; or cameras named, by id, address or the text
of their street), their events come from the store in time order, and the tips filed about that place (its
cameras, a position inside it, or a typed address naming the street) are merged in by the time they were seen.
A caller scoped to grids gets its grids' events, tips and cameras only; a caller who may not work tips gets only
the tips it filed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import Engine

from shopwatch.core.config import CameraConfig
from shopwatch.core.directory import CameraDirectory
from shopwatch.core.events import EventType
from shopwatch.core.incident_records import StoredEvent
from shopwatch.core.tip_records import Tip, TipStatus, TipType
from shopwatch.incidents.search_place import SearchPlace, box_of, cameras_in, distance_from, inside
from shopwatch.incidents.workflow import Status
from shopwatch.store.search import Filters, Key, Kind, TipPlace, events_at, tips_at

EVENT_TYPES = frozenset(t.value for t in EventType)
TIP_TYPES = frozenset(t.value for t in TipType)
EVENT_STATUSES = frozenset(s.value for s in Status)
TIP_STATUSES = frozenset(s.value for s in TipStatus)
TIP_BATCH = 200  # tips read at a time while positions in the box but outside the shape are left out


@dataclass(frozen=True, slots=True)
class SearchRequest:
    place: SearchPlace
    filters: Filters  # the window, the caller's grids, types and statuses of either kind, the cursor, the page
    kinds: frozenset[Kind] = frozenset(Kind)
    own_tips_of: str | None = None  # a caller who may not work tips: only the tips it filed


@dataclass(frozen=True, slots=True)
class Found:
    key: Key
    camera: CameraConfig | None  # the event's camera; a tip's camera if it named or matched one
    distance_m: float | None  # from the centre, or the street's line; None for a place named without a shape
    event: StoredEvent | None = None
    tip: Tip | None = None


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    cameras: list[tuple[CameraConfig, float | None]]  # the place's cameras the caller sees, nearest first
    results: list[Found]
    next_cursor: str | None


def _narrowed(f: Filters, types: frozenset[str], statuses: frozenset[str]) -> Filters | None:
    """The filters for one kind of result, or None when the types or statuses asked name none of that kind."""
    wanted_types, wanted_statuses = f.types & types, f.statuses & statuses
    if (f.types and not wanted_types) or (f.statuses and not wanted_statuses):
        return None
    return replace(f, types=wanted_types, statuses=wanted_statuses, limit=f.limit + 1)


class EventSearch:
    def __init__(self, engine: Engine, fleet: CameraDirectory) -> None:
        self._engine = engine
        self._fleet = fleet

    async def search(self, request: SearchRequest) -> SearchAnswer:
        return await asyncio.to_thread(self.search_now, request)

    def search_now(self, request: SearchRequest) -> SearchAnswer:
        """Blocking: call from a thread."""
        f = request.filters
        covered = cameras_in(request.place, self._fleet.cameras())
        found: list[Found] = []
        if Kind.EVENT in request.kinds:
            found += self._events(covered, f)
        if Kind.TIP in request.kinds:
            found += self._tips(request, covered)
        found.sort(key=lambda item: item.key)
        page = found[: f.limit]
        more = len(found) > f.limit
        visible = [(c, d) for c, d in covered if f.grids is None or c.grid in f.grids]
        return SearchAnswer(visible, page, page[-1].key.encode() if more and page else None)

    def _events(self, covered: Sequence[tuple[CameraConfig, float | None]], f: Filters) -> list[Found]:
        narrowed = _narrowed(f, EVENT_TYPES, EVENT_STATUSES)
        if narrowed is None:
            return []
        by_id = {c.id: (c, d) for c, d in covered}
        events = events_at(self._engine, frozenset(by_id), narrowed)
        return [Found(Key(e.start, Kind.EVENT, e.id), *by_id[e.camera_id], event=e) for e in events]

    def _tips(self, request: SearchRequest, covered: Sequence[tuple[CameraConfig, float | None]]) -> list[Found]:
        narrowed = _narrowed(request.filters, TIP_TYPES, TIP_STATUSES)
        if narrowed is None:
            return []
        place = request.place
        by_id = {c.id: (c, d) for c, d in covered}
        box = box_of(place.shape) if place.shape is not None else None
        where = TipPlace(
            camera_ids=frozenset(by_id),
            box=(box.south, box.north, box.west, box.east) if box is not None else None,
            street=place.street,
            filed_by=request.own_tips_of,
        )
        wanted = narrowed.limit
        kept: list[Found] = []
        batch = replace(narrowed, limit=max(wanted, TIP_BATCH))
        while len(kept) < wanted:
            tips = tips_at(self._engine, where, batch)
            kept += [hit for hit in (self._tip_hit(tip, place, by_id) for tip in tips) if hit is not None]
            if len(tips) < batch.limit:
                break
            batch = replace(batch, after=Key(tips[-1].seen_at, Kind.TIP, tips[-1].id))
        return kept[:wanted]

    @staticmethod
    def _tip_hit(tip: Tip, place: SearchPlace, by_id: dict[str, tuple[CameraConfig, float | None]]) -> Found | None:
        """The tip as a result if it is really about the place (a position in the box may lie outside it)."""
        camera, distance = by_id.get(tip.camera_id or "", (None, None))
        positioned = place.shape is not None and tip.lat is not None and tip.lon is not None
        if positioned:
            assert place.shape is not None and tip.lat is not None and tip.lon is not None
            within, _ = inside(place.shape, tip.lat, tip.lon)
            distance = distance_from(place.shape, tip.lat, tip.lon)
        else:
            within = False
        street = place.street is not None and place.street.casefold() in tip.address.casefold()
        if not (within or camera is not None or street):
            return None
        return Found(Key(tip.seen_at, Kind.TIP, tip.id), camera, distance, tip=tip)
