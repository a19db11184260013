"""The FastAPI app, built by ``create_app(settings, services)``: nothing at import, no globals."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request, params, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from shopwatch.api.access.deps import Access, AuditWrites, authenticate
from shopwatch.api.console import mount_console
from shopwatch.api.deps import ApiContext, attach_context
from shopwatch.api.errors import install_family_handler
from shopwatch.api.hardening import harden
from shopwatch.api.metrics import build_registry
from shopwatch.api.routers import (
    audit,
    camera_spots,
    cameras,
    deliveries,
    events,
    incidents,
    live,
    live_ws,
    login,
    media,
    search,
    stats,
    system,
    talkback,
    talkback_clips,
    talkback_live,
    tips,
    users,
)
from shopwatch.api.services import Services
from shopwatch.core.config import Settings
from shopwatch.core.principal import Permission


def create_app(settings: Settings, services: Services) -> FastAPI:
    app = FastAPI(
        title="shopwatch",
        summary="Merchant cameras for the command room: health, snapshots, metrics.",
        version="0.1.0",
        openapi_url=None,  # FastAPI's own description and docs answer anyone: harden() serves them to admins
        docs_url=None,
        redoc_url=None,
    )
    metrics = build_registry(services.fleet, services.talkback, services.shards)
    attach_context(app, ApiContext(settings=settings, services=services, metrics=metrics))
    install_error_handlers(app)
    harden(app, settings)
    # The only open routes: /healthz (probes) and POST /api/auth/login. Everything else is authenticated here, once.
    app.include_router(system.router)
    app.include_router(login.public_router)
    app.include_router(media.router)  # an alert's pictures: the signed URL is the credential (401 without)
    include_api_routers(app, dependencies=[Depends(authenticate)])
    # static files: every piece of data it shows comes from the routes above
    mount_console(app, settings.api.timezone, settings.api.console)
    return app


def include_api_routers(app: FastAPI, dependencies: Sequence[params.Depends]) -> None:
    """Every operator-facing router under ``/api`` (and /metrics), each behind the same ``dependencies``, with
    the role each needs: reads for ``read``, writes (and WebSockets) for ``write``; talk and clip changes audited."""
    api = APIRouter(prefix="/api", dependencies=list(dependencies))
    P = Permission
    api.include_router(cameras.router, dependencies=[Depends(Access(read=P.VIEW_CAMERAS, write=P.ADMIN))])
    api.include_router(live.router, dependencies=[Depends(Access(read=P.VIEW_CAMERAS, write=P.ADMIN))])
    api.include_router(live_ws.router, dependencies=[Depends(Access(read=P.VIEW_CAMERAS, write=P.VIEW_CAMERAS))])
    talk = [Depends(Access(read=P.VIEW_OPERATIONS, write=P.TALK)), Depends(AuditWrites("talkback"))]
    api.include_router(talkback.router, dependencies=talk)
    api.include_router(talkback_live.router, dependencies=talk)
    clips = [Depends(Access(read=P.VIEW_OPERATIONS, write=P.ADMIN)), Depends(AuditWrites("clip"))]
    api.include_router(talkback_clips.router, dependencies=clips)
    # Events: patrol may read and acknowledge (within its grids); dispatch, resolve and false positive need
    # WORK_EVENTS, checked by the route. Every transition is audited.
    work = [Depends(Access(read=P.VIEW_CAMERAS, write=P.ACK_EVENTS)), Depends(AuditWrites("event"))]
    api.include_router(events.router, dependencies=work)
    sight = [Depends(Access(read=P.VIEW_CAMERAS, write=P.ADMIN))]
    api.include_router(incidents.router, dependencies=sight)
    api.include_router(incidents.teams_router, dependencies=sight)
    # Case analysis: the command room (operators, viewers, admins), within the caller's grids.
    api.include_router(stats.router, dependencies=[Depends(Access(read=P.VIEW_OPERATIONS, write=P.ADMIN))])
    # Search: whoever sees cameras and events (not tipsters), within the caller's grids.
    api.include_router(search.router, dependencies=sight)
    tip_access = [Depends(Access(read=P.FILE_TIPS, write=P.FILE_TIPS)), Depends(AuditWrites("tip"))]
    api.include_router(tips.router, dependencies=tip_access)  # deciding needs WORK_EVENTS (checked by the route)
    api.include_router(deliveries.router, dependencies=[Depends(Access(read=P.VIEW_OPERATIONS, write=P.ADMIN))])
    api.include_router(login.router)  # logout and "who am I": any signed-in caller
    admin = [Depends(Access(read=P.ADMIN, write=P.ADMIN))]
    api.include_router(users.users_router, dependencies=admin)
    api.include_router(users.keys_router, dependencies=admin)
    api.include_router(audit.router, dependencies=admin)
    api.include_router(camera_spots.router, dependencies=admin)
    app.include_router(api)
    operations = Depends(Access(read=P.VIEW_OPERATIONS, write=P.VIEW_OPERATIONS))
    app.include_router(system.metrics_router, dependencies=[*dependencies, operations])


def install_error_handlers(app: FastAPI) -> None:
    """Every error is JSON with a ``detail``; nothing echoes request input (it may carry a password)."""

    async def invalid_request(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse(
            {"detail": [_safe_validation_error(e) for e in exc.errors()]},
            status_code=status.HTTP_422_UNPROCESSABLE_CONTENT,
        )

    async def internal_error(_request: Request, _exc: Exception) -> JSONResponse:
        # Starlette re-raises after this answer, so the server logs the traceback (through the redacting filter).
        return JSONResponse({"detail": "internal error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)

    app.add_exception_handler(RequestValidationError, invalid_request)
    install_family_handler(app)  # the core.errors family: 404, 409, 403, 422, 503, 502/504 by kind
    app.add_exception_handler(Exception, internal_error)


def _safe_validation_error(error: Any) -> dict[str, Any]:
    """Keep where and what (``loc``, ``msg``, ``type``); drop ``input`` and ``ctx``, which echo what was sent."""
    return {"loc": list(error.get("loc", ())), "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}
