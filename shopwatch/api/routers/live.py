"""``GET /api/cameras/{camera_id}/live.mjpeg``: a camera's live picture as MJPEG, for the console's ``<img>``
and any VMS or browser that plays ``multipart/x-mixed-replace``. Audited like a snapshot; a caller scoped to
grids gets 404 for other grids' cameras; at most ``api.live_views`` stream at once (503 past it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from shopwatch.api.access.deps import AuditDep, PrincipalDep, client_address
from shopwatch.api.deps import ContextDep, FleetDep
from shopwatch.api.live_view import MEDIA_TYPE, mjpeg_stream, prepend
from shopwatch.api.routers.cameras import camera_or_404, not_registered, unavailable
from shopwatch.api.streams import StreamGuardDep
from shopwatch.core.errors import SnapshotUnavailable

router = APIRouter(prefix="/cameras", tags=["cameras"])

MAX_SECONDS = 3600.0


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
