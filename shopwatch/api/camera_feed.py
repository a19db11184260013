"""Camera states for the console's live stream: what changed since this console was last told.

``GET /api/events/stream?cameras=true`` adds ``camera`` messages to the event feed: first one per visible camera,
then one whenever a camera's state, activity (``idle``/``active``: motion) or reason changes. They carry no
``id`` (a reconnect starts again with every camera's state, not from a feed number). Checked every
``CAMERA_POLL_S`` from the fleet's in-memory health: one pass over the registry per console per second."""

from __future__ import annotations

import json
from collections.abc import Callable

from shopwatch.api.health_reason import why_kind
from shopwatch.api.services import Fleet
from shopwatch.core.redact import redact_text

CAMERA_POLL_S = 1.0
_UNKNOWN = ("unknown", "idle", None)


class CameraStates:
    def __init__(self) -> None:
        self._told: dict[str, tuple[str, str, str | None]] = {}

    def changes(self, fleet: Fleet, sees: Callable[[str], bool]) -> str:
        """The ``camera`` messages for every visible camera whose state differs from what was told (or "")."""
        healths = fleet.all_health()
        out: list[str] = []
        for camera in fleet.cameras():
            if not sees(camera.grid):
                continue
            health = healths.get(camera.id)
            if not camera.enabled:
                now: tuple[str, str, str | None] = ("disabled", "idle", None)
            elif health is None:
                now = _UNKNOWN
            else:
                why = redact_text(health.last_error, camera.secrets()) if health.last_error else None
                now = (health.state.value, health.mode.value, why)  # a worker's words, its camera's secrets out
            if self._told.get(camera.id) != now:
                self._told[camera.id] = now
                data = {"id": camera.id, "state": now[0], "mode": now[1], "why": now[2], "why_kind": why_kind(now[2])}
                out.append(f"event: camera\ndata: {json.dumps(data, ensure_ascii=False)}\n\n")
        return "".join(out)
