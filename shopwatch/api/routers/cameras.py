"""``/api/cameras``: the fleet as operators see it, answered from memory, and snapshots on demand.

A caller scoped to grids (patrol users, scoped API keys) sees only those grids' cameras: the others are left
out of the list and answer 404, as if they did not exist. Every snapshot taken is in the audit log."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from shopwatch.api.access.deps import AuditDep, PrincipalDep, client_address
from shopwatch.api.deps import CameraViewsDep, FleetDep
from shopwatch.api.errors import NoSnapshot
from shopwatch.api.schemas import CameraList, CameraPublic
from shopwatch.api.services import Fleet
from shopwatch.api.views import json_response, state_counts
from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import NotFound, SnapshotUnavailable
from shopwatch.core.health import CameraHealth, CameraState
from shopwatch.core.principal import Principal
from shopwatch.core.redact import redact_text

router = APIRouter(prefix="/cameras", tags=["cameras"])

SNAPSHOT_TIMEOUT_S = 5.0  # default wait for a frame; a keyframe every 2 s (GOP 24 at 12 fps) plus decode
SNAPSHOT_MAX_TIMEOUT_S = 15.0
SNAPSHOT_GRACE_S = 1.0  # our own cap above the fleet's timeout, in case a fleet overruns it
RETRY_AFTER_S = 2  # when the fleet gives no better hint (a camera reconnecting reports next_retry_in_s)

_NOT_FOUND = {"description": "The camera is not registered."}


@dataclass(frozen=True, slots=True)
class CameraFilter:
    """The query filters except state (state needs health and is applied after the summary is counted)."""

    grids: frozenset[str]
    enabled: bool | None
    text: str  # lower-case substring of id, name, merchant, address or host; "" matches all

    def matches(self, camera: CameraConfig) -> bool:
        if self.grids and camera.grid not in self.grids:
            return False
        if self.enabled is not None and camera.enabled != self.enabled:
            return False
        if not self.text:
            return True
        fields = (camera.id, camera.name, camera.merchant.name, camera.address, camera.host)
        return any(self.text in f.lower() for f in fields)


def not_registered(camera_id: str) -> NotFound:
    return NotFound(f"camera {camera_id!r} is not registered")


def camera_or_404(fleet: Fleet, camera_id: str, principal: Principal) -> CameraConfig:
    camera = fleet.camera(camera_id)
    if camera is None or not principal.can_see_grid(camera.grid):
        raise not_registered(camera_id)
    return camera


@router.get("", response_model=CameraList, summary="Every camera with its live health")
async def list_cameras(
    fleet: FleetDep,
    views: CameraViewsDep,
    principal: PrincipalDep,
    grid: Annotated[list[str] | None, Query(description="Only these grids (repeat for several).")] = None,
    state: Annotated[list[CameraState] | None, Query(description="Only these states (repeat for several).")] = None,
    enabled: Annotated[bool | None, Query(description="Only enabled (true) or disabled (false) cameras.")] = None,
    q: Annotated[str | None, Query(max_length=200, description="Text in id, name, merchant, address, host.")] = None,
) -> Response:
    selected = CameraFilter(frozenset(grid or ()), enabled, (q or "").strip().lower())
    health = fleet.all_health()
    matching: list[tuple[CameraConfig, CameraHealth | None]] = [
        (camera, health.get(camera.id))
        for camera in fleet.cameras()
        if principal.can_see_grid(camera.grid) and selected.matches(camera)
    ]
    summary = state_counts(h.state if h is not None else None for _, h in matching)
    if state:
        wanted = set(state)
        matching = [(c, h) for c, h in matching if h is not None and h.state in wanted]
    # A Response skips FastAPI's per-item validation of the response model (the slow part at 1,200 cameras); each
    # camera's JSON is kept until it reports again, so a console's refresh encodes only what changed.
    return Response(views.list_body(matching, summary), media_type="application/json")


@router.get("/{camera_id}", response_model=CameraPublic, responses={404: _NOT_FOUND})
async def get_camera(camera_id: str, fleet: FleetDep, views: CameraViewsDep, principal: PrincipalDep) -> Response:
    camera = camera_or_404(fleet, camera_id, principal)
    return json_response(views.view(camera, fleet.health(camera_id)))


@router.get(
    "/{camera_id}/snapshot.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The latest decoded frame as JPEG."},
        404: _NOT_FOUND,
        503: {"description": "No frame in time (offline, no keyframe yet); see Retry-After."},
    },
)
async def camera_snapshot(
    camera_id: str,
    request: Request,
    fleet: FleetDep,
    principal: PrincipalDep,
    audit: AuditDep,
    timeout_s: Annotated[
        float, Query(gt=0, le=SNAPSHOT_MAX_TIMEOUT_S, description="How long to wait for a frame.")
    ] = SNAPSHOT_TIMEOUT_S,
) -> Response:
    camera = camera_or_404(fleet, camera_id, principal)
    await audit.record(principal, "camera.snapshot", camera_id, {"grid": camera.grid}, client_address(request))
    try:
        async with asyncio.timeout(timeout_s + SNAPSHOT_GRACE_S):
            jpeg = await fleet.snapshot_jpeg(camera_id, timeout_s=timeout_s)
    except KeyError:  # removed between the lookup and the snapshot
        raise not_registered(camera_id) from None
    except SnapshotUnavailable as exc:
        raise unavailable(camera, fleet.health(camera_id), str(exc) or "no frame in time") from None
    except TimeoutError:
        raise unavailable(camera, fleet.health(camera_id), f"no frame within {timeout_s:g} s") from None
    return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


def unavailable(camera: CameraConfig, health: CameraHealth | None, reason: str) -> NoSnapshot:
    retry_after = RETRY_AFTER_S
    if health is not None and health.next_retry_in_s is not None and math.isfinite(health.next_retry_in_s):
        retry_after = max(1, math.ceil(health.next_retry_in_s))
    state = f" (state {health.state.value})" if health is not None else ""
    return NoSnapshot(
        f"no snapshot from camera {camera.id!r}{state}: {redact_text(reason, camera.secrets())}", retry_after
    )
