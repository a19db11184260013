"""The grid an audited write acts in, from the path's ids: a camera's grid, an event's, a talk session's
camera's. Recorded in the entry's detail so that an admin key scoped to grids sees only its grids' entries
(an event or session id alone does not say whose it is)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shopwatch.api.services import Services
from shopwatch.talkback.records import UnknownSession


async def target_grid(services: Services, params: Mapping[str, Any]) -> str | None:
    """The grid of the first id in ``params`` that names something with one; None: none does (or it is gone)."""
    camera_id = params.get("camera_id")
    session_id = params.get("session_id")
    event_id = params.get("event_id")
    if session_id is not None and services.talkback is not None:
        try:
            camera_id = services.talkback.session(str(session_id)).camera_id
        except UnknownSession:
            return None
    if camera_id is not None:
        camera = services.fleet.camera(str(camera_id))
        return camera.grid if camera is not None else None
    if event_id is not None and services.archive is not None:
        event = await services.archive.event(str(event_id))
        return event.grid if event is not None else None
    return None
