"""``/api/incidents`` (events linked across cameras: path, direction, likely next cameras) and ``/api/teams``
(patrol teams and the supervisor channel as configured, without webhook keys).

A caller scoped to grids sees the incidents with an event in its grids, each without the steps, next cameras
and text naming other grids' cameras (``hidden_steps`` counts the steps left out), and the teams of its grids."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Query

from shopwatch.api.access.deps import PrincipalDep
from shopwatch.api.incident_deps import ArchiveDep, CallerDep, IncidentsDep
from shopwatch.api.incident_schemas import IncidentPublic, TeamPublic, teams_public
from shopwatch.api.scope import Scope, ScopeDep
from shopwatch.core.errors import NotFound
from shopwatch.incidents.archive import EventArchive
from shopwatch.store.events import EventQuery

router = APIRouter(prefix="/incidents", tags=["incidents"])
teams_router = APIRouter(prefix="/teams", tags=["teams"])


def _camera_filter(scope: Scope) -> Callable[[str], bool] | None:
    return scope.sees_camera if scope.limited else None


async def _grids_of(archive: EventArchive, incident_id: str) -> set[str]:
    page = await archive.events(EventQuery(incident_id=incident_id, limit=500))
    return {e.grid for e in page.events}


@router.get("", response_model=list[IncidentPublic], summary="Linked incidents, latest first")
async def list_incidents(
    archive: ArchiveDep, caller: CallerDep, scope: ScopeDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list[IncidentPublic]:
    incidents = await archive.incidents(limit, caller.grids)
    return [IncidentPublic.of(i, _camera_filter(scope)) for i in incidents]


@router.get("/{incident_id}", response_model=IncidentPublic, responses={404: {"description": "No such incident."}})
async def get_incident(
    incident_id: str, archive: ArchiveDep, caller: CallerDep, scope: ScopeDep
) -> IncidentPublic:
    incident = await archive.incident(incident_id)
    if incident is None or (
        caller.grids is not None and not any(map(caller.sees, await _grids_of(archive, incident_id)))
    ):
        raise NotFound(f"no incident {incident_id!r}")
    return IncidentPublic.of(incident, _camera_filter(scope))


@teams_router.get("", response_model=list[TeamPublic], summary="Patrol teams and the supervisor channel")
async def list_teams(service: IncidentsDep, caller: CallerDep, principal: PrincipalDep) -> list[TeamPublic]:
    teams = teams_public(service.settings, full_urls=principal.is_admin)  # tokens in webhook URLs: admins only
    if caller.grids is None:
        return teams
    return [t for t in teams if any(map(caller.sees, t.grids))]  # not the command room's supervisor channel
