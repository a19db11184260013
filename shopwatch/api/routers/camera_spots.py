"""``/api/cameras/{id}/ignored-spots``: the spots operators marked "ignore" on a camera's surfaces (a false
positive with ``ignore_spot``), for an admin to review and clear. Admin only; grid-scoped like every camera route
(a camera outside the caller's grids answers 404). Clearing is in the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from shopwatch.api.access.deps import AuditDep, PrincipalDep, client_address
from shopwatch.api.deps import ContextDep, FleetDep, present
from shopwatch.api.routers.cameras import camera_or_404
from shopwatch.api.services import Spots
from shopwatch.core.learnt import IgnoredSpot

router = APIRouter(prefix="/cameras", tags=["cameras"])


def get_spots(context: ContextDep) -> Spots:
    return present(context.services.spots, "the incident store")


SpotsDep = Annotated[Spots, Depends(get_spots)]


class IgnoredSpotPublic(BaseModel):
    id: str
    zone: str = Field(description="The surface zone it is on.")
    box: tuple[float, float, float, float] = Field(description="Normalized (x1, y1, x2, y2) of the frame.")
    event_id: str | None = Field(description="The false positive it was taught from.")
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, spot: IgnoredSpot) -> IgnoredSpotPublic:
        return cls.model_validate(spot.model_dump())


class Cleared(BaseModel):
    removed: int = Field(description="Spots removed.")


@router.get("/{camera_id}/ignored-spots", response_model=list[IgnoredSpotPublic])
async def list_spots(
    camera_id: str, fleet: FleetDep, spots: SpotsDep, principal: PrincipalDep
) -> list[IgnoredSpotPublic]:
    camera_or_404(fleet, camera_id, principal)
    return [IgnoredSpotPublic.of(s) for s in await spots.list(camera_id)]


@router.delete("/{camera_id}/ignored-spots", response_model=Cleared, summary="Clear every ignored spot")
async def clear_spots(
    camera_id: str, request: Request, fleet: FleetDep, spots: SpotsDep, principal: PrincipalDep, audit: AuditDep
) -> Cleared:
    camera = camera_or_404(fleet, camera_id, principal)
    removed = await spots.clear(camera_id)
    details = {"grid": camera.grid, "removed": removed}
    await audit.record(principal, "camera.ignored_spots.clear", camera_id, details, client_address(request))
    return Cleared(removed=removed)


@router.delete("/{camera_id}/ignored-spots/{spot_id}", response_model=Cleared, summary="Clear one ignored spot")
async def clear_spot(
    camera_id: str,
    spot_id: str,
    request: Request,
    fleet: FleetDep,
    spots: SpotsDep,
    principal: PrincipalDep,
    audit: AuditDep,
) -> Cleared:
    camera = camera_or_404(fleet, camera_id, principal)
    removed = await spots.clear(camera_id, spot_id)
    details = {"grid": camera.grid, "spot": spot_id}
    await audit.record(principal, "camera.ignored_spots.clear", camera_id, details, client_address(request))
    return Cleared(removed=removed)
