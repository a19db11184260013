"""``GET /api/cameras/{camera_id}/live.mjpeg``: a camera's live picture as MJPEG, for the console's ``<img>``
and any VMS or browser that plays ``multipart/x-mixed-replace``. Audited like a snapshot; a caller scoped to
grids gets 404 for other grids' cameras; at most ``api.live_views`` stream at once (503 past it).

``GET /api/cameras/{camera_id}/still.jpg``: the camera wall's tile picture, kept a moment for every console
(``shopwatch.api.stills``) with ``ETag``/``Cache-Control``; not audited one by one (a wall asks every few
seconds per tile: the audit log would drown), unlike a snapshot download or a live view."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from shopwatch.api.access.deps import AuditDep, PrincipalDep, client_address
from shopwatch.api.deps import ContextDep, FleetDep
from shopwatch.api.live_view import MEDIA_TYPE, mjpeg_stream, prepend
from shopwatch.api.routers.cameras import camera_or_404, not_registered, unavailable
from shopwatch.api.streams import StreamGuardDep
from shopwatch.core.errors import SnapshotUnavailable

router = APIRouter(prefix="/cameras", tags=["cameras"])

MAX_SECONDS = 3600.0
STILL_TIMEOUT_S = 3.0  # a wall tile waits this long for a frame, then shows why not


@router.get(
    "/{camera_id}/live.mjpeg",
    response_class=StreamingResponse,
    responses={
        200: {"content": {MEDIA_TYPE: {}}, "description": "JPEG parts, each a new decoded picture."},
        404: {"description": "The camera is not registered."},
        503: {"description": "No frame in time, or too many live views now; see Retry-After."},
    },
    summary="Live picture as MJPEG while the client reads (bounded by seconds)",
)
async def live_view(
    camera_id: str,
    request: Request,
    fleet: FleetDep,
    principal: PrincipalDep,
    audit: AuditDep,
    context: ContextDep,
    guard: StreamGuardDep,
    fps: Annotated[float, Query(ge=0.2, le=12, description="Most pictures a second.")] = 5.0,
    seconds: Annotated[
        float, Query(gt=0, le=MAX_SECONDS, description="The stream ends after this long; reconnect for more.")
    ] = 300.0,
) -> StreamingResponse:
    camera = camera_or_404(fleet, camera_id, principal)
    await audit.record(principal, "camera.live", camera_id, {"grid": camera.grid, "fps": fps}, client_address(request))
    cap = context.settings.api.live_views
    stream = guard.stream(mjpeg_stream(fleet, camera_id, fps=fps, seconds=seconds, slots=context.live_slots, cap=cap))
    try:
        first = await anext(stream)
    except KeyError:  # removed since the lookup
        raise not_registered(camera_id) from None
    except (SnapshotUnavailable, TimeoutError) as exc:
        raise unavailable(camera, fleet.health(camera_id), str(exc) or "no frame in time") from None
    return StreamingResponse(prepend(first, stream), media_type=MEDIA_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/{camera_id}/still.jpg",
    response_class=Response,
    responses={
        200: {"content": {"image/jpeg": {}}, "description": "The latest picture, kept a moment for all consoles."},
        304: {"description": "The picture is the one the client has (If-None-Match)."},
        404: {"description": "The camera is not registered."},
        503: {"description": "No frame in time (offline, no keyframe yet); see Retry-After."},
    },
    summary="The camera wall's still picture (cached, ETag)",
)
async def wall_still(
    camera_id: str, request: Request, fleet: FleetDep, principal: PrincipalDep, context: ContextDep
) -> Response:
    camera = camera_or_404(fleet, camera_id, principal)
    stills = context.stills

    async def fetch() -> bytes:
        async with asyncio.timeout(STILL_TIMEOUT_S + 1.0):
            return await fleet.snapshot_jpeg(camera_id, timeout_s=STILL_TIMEOUT_S)

    try:
        still = await stills.get(camera_id, fetch)
    except KeyError:
        raise not_registered(camera_id) from None
    except (SnapshotUnavailable, TimeoutError) as exc:
        raise unavailable(camera, fleet.health(camera_id), str(exc) or "no frame in time") from None
    headers = {"ETag": still.etag, "Cache-Control": f"private, max-age={max(1, int(stills.max_age_s))}"}
    if still.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(still.jpeg, media_type="image/jpeg", headers=headers)
