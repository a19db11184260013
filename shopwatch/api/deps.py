"""Dependencies routes declare with ``Annotated`` aliases. The only place that reads the app's services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, TypeVar

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry
from starlette.requests import HTTPConnection

from shopwatch.api.live_view import LiveSlots
from shopwatch.api.services import Fleet, Services
from shopwatch.api.stills import StillCache
from shopwatch.api.stream_slots import StreamSlots
from shopwatch.api.views import CameraViews
from shopwatch.core.config import Settings
from shopwatch.core.errors import Unavailable

_STATE_KEY = "shopwatch_context"


@dataclass(frozen=True, slots=True)
class ApiContext:
    """What one app was built with: settings, the composition root's services, its own metrics registry and
    camera view cache."""

    settings: Settings
    services: Services
    metrics: CollectorRegistry
    camera_views: CameraViews = field(default_factory=CameraViews)
    live_slots: LiveSlots = field(default_factory=LiveSlots)
    stream_slots: StreamSlots = field(default_factory=StreamSlots)
    stills: StillCache = field(default_factory=StillCache)


def attach_context(app: FastAPI, context: ApiContext) -> None:
    """Called once by ``create_app``."""
    setattr(app.state, _STATE_KEY, context)


def get_context(conn: HTTPConnection) -> ApiContext:
    """The typed accessor: works for HTTP requests and WebSockets alike."""
    context = getattr(conn.app.state, _STATE_KEY, None)
    if not isinstance(context, ApiContext):
        raise RuntimeError(f"expected an app built by create_app(), found no {_STATE_KEY} on {conn.app!r}")
    return context


ContextDep = Annotated[ApiContext, Depends(get_context)]
T = TypeVar("T")


def present(service: T | None, what: str) -> T:
    """``service``, or a 503 saying that ``what`` is not set up on this service (a part left out by its config)."""
    if service is None:
        raise Unavailable(f"{what} is not set up on this service")
    return service


def get_settings(context: ContextDep) -> Settings:
    return context.settings


def get_fleet(context: ContextDep) -> Fleet:
    return context.services.fleet


def get_camera_views(context: ContextDep) -> CameraViews:
    return context.camera_views


def get_metrics_registry(context: ContextDep) -> CollectorRegistry:
    return context.metrics


SettingsDep = Annotated[Settings, Depends(get_settings)]
FleetDep = Annotated[Fleet, Depends(get_fleet)]
CameraViewsDep = Annotated[CameraViews, Depends(get_camera_views)]
MetricsRegistryDep = Annotated[CollectorRegistry, Depends(get_metrics_registry)]
