"""The typed doors between layers. The API and CLI depend on these protocols, never on implementations;
the composition root (``shopwatch.app``) builds the real ones and tests pass fakes through the same door."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import Unavailable
from shopwatch.core.health import CameraHealth

if TYPE_CHECKING:  # a type only: core imports nothing below it at run time
    from shopwatch.auth.audit import AuditTrail
    from shopwatch.auth.login import LoginService
    from shopwatch.incidents.service import IncidentService
    from shopwatch.talkback.service import TalkbackService


class SnapshotUnavailable(Unavailable):
    """No decoded frame could be produced in time (camera offline, no keyframe yet)."""


class Fleet(Protocol):
    """The running camera fleet as the API sees it: configuration, live health, snapshots."""

    def cameras(self) -> list[CameraConfig]:
        """Every registered camera (enabled or not), ordered by id."""
        ...

    def camera(self, camera_id: str) -> CameraConfig | None: ...

    def health(self, camera_id: str) -> CameraHealth | None:
        """Latest health reported for the camera; None if it is unknown."""
        ...

    def all_health(self) -> dict[str, CameraHealth]:
        """Latest health of every camera, answered from memory."""
        ...

    async def snapshot_jpeg(self, camera_id: str, timeout_s: float) -> bytes:
        """JPEG of the latest decoded frame, or of the next keyframe decoded on demand.

        Raises ``KeyError`` for an unknown camera and ``SnapshotUnavailable`` when no frame comes in time."""
        ...

    def request_activity(self, camera_id: str, reason: str) -> bool:
        """Decode the camera's stream at full rate for a while (as on motion); False: it is not running."""
        ...


class Services:
    """Everything the API needs, built by the composition root and handed to ``create_app``.

    Later issues add their services here (event store, talkback, ...)."""

    def __init__(
        self,
        fleet: Fleet,
        talkback: TalkbackService | None = None,
        *,
        auth: LoginService | None = None,
        audit: AuditTrail | None = None,
        incidents: IncidentService | None = None,
    ) -> None:
        self.fleet = fleet
        self.talkback = talkback  # None: talkback is not set up (its routes answer 503)
        self.auth = auth  # None: every authenticated route answers 503 (fails closed)
        self.audit = audit
        self.incidents = incidents  # None: the event routes answer 503
