"""The API's bag of services: what the routers need, each typed by a protocol of the calls the routers make.

The composition root (``shopwatch.app``) builds the real services and hands them to ``create_app`` in a
``Services``; tests pass fakes through the same door. A route asks its service for what it needs and never
reaches through it into repositories, stores or signers (reads of incidents go through ``EventArchive``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from shopwatch.api.cluster_metrics import ShardCountsSource
from shopwatch.core.config import CameraConfig
from shopwatch.core.health import CameraHealth
from shopwatch.core.incident_records import StoredEvent
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.core.learnt import IgnoredSpot
from shopwatch.core.talkback_records import TalkSession
from shopwatch.incidents.archive import EventArchive
from shopwatch.incidents.search import EventSearch
from shopwatch.incidents.tips import TipDesk
from shopwatch.incidents.workflow import Status
from shopwatch.ingest.live_feed import LiveSubscription
from shopwatch.store.talkback import AuditQuery, ClipRecord
from shopwatch.talkback.live import LiveAudio, LiveInput
from shopwatch.talkback.records import Sound, TalkbackStats, TalkRequest

if TYPE_CHECKING:
    from shopwatch.auth.audit import AuditTrail
    from shopwatch.auth.login import LoginService
    from shopwatch.incidents.service import IncidentService
    from shopwatch.talkback.service import TalkbackService


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

    def watch_live(self, camera_id: str) -> LiveSubscription:
        """The camera's pictures (no decoding) from its newest keyframe on, until the subscription is closed.
        Raises ``KeyError`` for an unknown camera."""
        ...


class Workflow(Protocol):
    """The incident service as the event routes use it: moving an event along, and the teams configured."""

    settings: IncidentsSettings

    async def transition(
        self, event_id: str, wanted: Status, user: str, note: str, *, ignore_spot: bool = False
    ) -> StoredEvent: ...


class Spots(Protocol):
    """Ignored spots per camera (taught by false positives), as the admin's routes use them."""

    async def list(self, camera_id: str) -> list[IgnoredSpot]: ...

    async def clear(self, camera_id: str, spot_id: str | None = None) -> int: ...


class Talk(Protocol):
    """The talkback service as the talk routes use it: start, follow and stop sessions; the audit."""

    async def play(
        self, camera_id: str, sound: Sound, request: TalkRequest, broadcast_id: str | None = None
    ) -> TalkSession: ...

    async def open_live(
        self, camera_id: str, spec: LiveInput, request: TalkRequest
    ) -> tuple[TalkSession, LiveAudio]: ...

    async def broadcast(
        self, camera_ids: Sequence[str], sound: Sound, request: TalkRequest
    ) -> tuple[str, list[tuple[str, TalkSession | Exception]]]: ...

    def cameras_in(self, camera_ids: Sequence[str], grid: str | None) -> list[str]: ...

    async def cancel(self, session_id: str) -> TalkSession: ...

    async def wait_started(self, session_id: str) -> TalkSession: ...

    async def wait_ended(self, session_id: str) -> TalkSession: ...

    def session(self, session_id: str) -> TalkSession: ...

    def sessions(self) -> tuple[list[TalkSession], list[TalkSession]]: ...

    def queue_position(self, session: TalkSession) -> int | None: ...

    def stats(self) -> TalkbackStats: ...

    async def audit_entries(self, query: AuditQuery) -> list[TalkSession]: ...


class Clips(Protocol):
    """The talkback clip library as its routes use it."""

    max_bytes: int

    async def add(self, name: str, filename: str, data: bytes, user: str) -> ClipRecord: ...

    async def get(self, clip_id: str) -> ClipRecord: ...

    async def list(self) -> list[ClipRecord]: ...

    async def rename(self, clip_id: str, name: str) -> ClipRecord: ...

    async def delete(self, clip_id: str) -> None: ...

    async def original(self, clip_id: str) -> tuple[ClipRecord, bytes]: ...


class Services:
    """Everything the API needs. A service left out (None) makes its routes answer 503; without ``auth`` every
    authenticated route does (fails closed)."""

    def __init__(
        self,
        fleet: Fleet,
        talkback: TalkbackService | None = None,
        *,
        auth: LoginService | None = None,
        audit: AuditTrail | None = None,
        incidents: IncidentService | None = None,
        shards: ShardCountsSource | None = None,
    ) -> None:
        """``shards``: the Ray shards' supervisor (``serve --ray``), for their metrics."""
        self.fleet = fleet
        self.shards = shards
        self.talkback: Talk | None = talkback
        self.clips: Clips | None = talkback.library if talkback is not None else None
        self.auth = auth
        self.audit = audit
        self.incidents: Workflow | None = incidents
        self.archive: EventArchive | None = incidents.archive() if incidents is not None else None
        self.spots: Spots | None = incidents.spots if incidents is not None else None
        self.tips: TipDesk | None = incidents.tips if incidents is not None else None
        self.search: EventSearch | None = incidents.search if incidents is not None else None
