"""Messages between the supervisor (main process) and its worker processes, sent over a multiprocessing Pipe.

Plain frozen dataclasses of picklable values: pydantic config models and health records pickle as they are."""

from __future__ import annotations

from dataclasses import dataclass

from shopwatch.core.config import CameraConfig
from shopwatch.core.events import Event
from shopwatch.core.health import CameraHealth
from shopwatch.ingest.live_feed import LivePackets, WatchLive


# supervisor -> worker
@dataclass(frozen=True, slots=True)
class SetCameras:
    """The full desired set of cameras of this worker; the worker starts, stops and updates readers to match."""

    cameras: tuple[CameraConfig, ...]


@dataclass(frozen=True, slots=True)
class SnapshotRequest:
    request_id: int
    camera_id: str
    timeout_s: float


@dataclass(frozen=True, slots=True)
class ActivityRequest:
    camera_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Shutdown:
    pass


ToWorker = SetCameras | SnapshotRequest | ActivityRequest | WatchLive | Shutdown


# worker -> supervisor
@dataclass(frozen=True, slots=True)
class HealthReport:
    worker: int
    healths: tuple[CameraHealth, ...]


@dataclass(frozen=True, slots=True)
class SnapshotReply:
    request_id: int
    jpeg: bytes | None
    error: str | None  # redacted reason when jpeg is None


@dataclass(frozen=True, slots=True)
class Published:
    """An event of the worker's detection, its clip cut."""

    worker: int
    event: Event


ToSupervisor = HealthReport | SnapshotReply | Published | LivePackets
