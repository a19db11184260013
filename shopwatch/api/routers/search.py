"""``/api/search``: events and tips near a place in a window of time, oldest first, a page at a time.

"What did the cameras along 长街 see between 22:00 and 23:00": ``?along=长街&date=2026-12-07&from=22:00&to=23:00``.
A caller scoped to some grids sees only its grids' events, tips and cameras; a caller who may not work events
(a patrol) sees the tips it filed; tipsters may not search (they see no camera)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from shopwatch.api.access.deps import PrincipalDep
from shopwatch.api.deps import ContextDep, FleetDep, SettingsDep, present
from shopwatch.api.incident_deps import CallerDep
from shopwatch.api.incident_schemas import EventPublic
from shopwatch.api.routers.tips import public_tip
from shopwatch.api.search_params import PlaceAsked, kinds_of, parse_window, resolve_place, statuses_of, types_of
from shopwatch.api.search_schemas import SearchCamera, SearchHit, SearchPage
from shopwatch.core.principal import Permission
from shopwatch.incidents.search import EventSearch, SearchRequest
from shopwatch.store.search import Filters, Key

router = APIRouter(prefix="/search", tags=["search"])


def get_search(context: ContextDep) -> EventSearch:
    return present(context.services.search, "search")


SearchDep = Annotated[EventSearch, Depends(get_search)]
Words = Annotated[list[str] | None, Query(max_length=500)]


@router.get(
    "",
    response_model=SearchPage,
    response_model_by_alias=True,
    summary="Events and tips near a place in a window of time, oldest first",
    responses={422: {"description": "A bad place, radius, window, type, status or cursor (the parameter named)."}},
)
async def search_near(
    searcher: SearchDep,
    caller: CallerDep,
    principal: PrincipalDep,
    fleet: FleetDep,
    settings: SettingsDep,
    lat: Annotated[float | None, Query(ge=-90, le=90, description="Centre's latitude (with lon, radius_m).")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180, description="Centre's longitude.")] = None,
    radius_m: Annotated[float | None, Query(description="Metres around the centre or address (0-50,000; 200).")] = None,
    camera_id: Annotated[list[str] | None, Query(description="These cameras (repeat for several).")] = None,
    address: Annotated[str | None, Query(max_length=300, description="An address or shop, matched like tips.")] = None,
    along: Annotated[str | None, Query(max_length=100, description="Cameras on this street (address).")] = None,
    path: Annotated[str | None, Query(max_length=4000, description="A street's line: lat,lon;lat,lon;...")] = None,
    width_m: Annotated[float | None, Query(description="The corridor's whole width around path (60 m).")] = None,
    since: Annotated[str | None, Query(alias="from", description="ISO 8601, or HH:MM with date (local).")] = None,
    until: Annotated[str | None, Query(alias="to", description="ISO 8601, or HH:MM with date; excluded.")] = None,
    date: Annotated[str | None, Query(max_length=10, description="The station's day, YYYY-MM-DD.")] = None,
    types: Annotated[Words, Query(description="Event or tip types (comma-separated or repeated).")] = None,
    status: Annotated[Words, Query(description="Event or tip statuses.")] = None,
    kinds: Annotated[Words, Query(description="events, tips (default both).")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=300, description="next_cursor of the previous page.")] = None,
) -> SearchPage:
    zone = settings.api.timezone
    window = parse_window(since, until, date, zone)
    asked = PlaceAsked(lat, lon, radius_m, tuple(camera_id or ()), address, along, path, width_m)
    place = resolve_place(asked, fleet.cameras())
    works = principal.has(Permission.WORK_EVENTS)
    filters = Filters(
        since=window[0], until=window[1], grids=caller.grids, types=types_of(types), statuses=statuses_of(status),
        after=Key.decode(cursor) if cursor else None, limit=limit,
    )  # fmt: skip
    answer = await searcher.search(
        SearchRequest(place, filters, kinds_of(kinds), own_tips_of=None if works else principal.name)
    )
    hits = []
    for found in answer.results:
        camera = found.camera if found.camera is not None and caller.sees(found.camera.grid) else None
        hits.append(
            SearchHit(
                kind="event" if found.event is not None else "tip",
                time=found.key.time,
                camera=SearchCamera.of(camera, found.distance_m) if camera is not None else None,
                distance_m=None if found.distance_m is None else round(found.distance_m, 1),
                event=EventPublic.of(found.event) if found.event is not None else None,
                tip=public_tip(found.tip, principal, fleet) if found.tip is not None else None,
            )  # fmt: skip
        )
    return SearchPage.model_validate(
        {"from": window[0], "to": window[1], "timezone": zone, "next_cursor": answer.next_cursor, "results": hits,
         "cameras": [SearchCamera.of(c, d) for c, d in answer.cameras]}
    )  # fmt: skip
