"""Camera connection state and health: the one model every layer (workers, API, CLI, metrics) speaks."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class CameraState(StrEnum):
    CONNECTING = "connecting"  # opening the stream (first time or after a failure)
    ONLINE = "online"  # packets are flowing
    STALLED = "stalled"  # connection open, but no packet for ingest.stall_after_s
    OFFLINE = "offline"  # connection failing; retrying with backoff
    AUTH_FAILED = "auth_failed"  # 401/403; retried slowly
    DISABLED = "disabled"  # configured off


class ActivityMode(StrEnum):
    IDLE = "idle"  # demux only, keyframes decoded now and then
    ACTIVE = "active"  # every frame decoded, frames handed on at detect_fps


@dataclass(frozen=True, slots=True)
class StreamInfo:
    codec: str
    width: int
    height: int
    fps: float | None


class EventsState(StrEnum):
    """ONVIF PullPoint motion-event subscription of a camera (see ``shopwatch.onvif.subscriptions``)."""

    STARTING = "starting"  # connecting to the device, creating the subscription
    SUBSCRIBED = "subscribed"  # pulling messages
    RETRYING = "retrying"  # the last attempt failed; re-created after a backoff
    OVER_LIMIT = "over_limit"  # onvif.events.max_subscriptions reached: not subscribed


@dataclass(frozen=True, slots=True)
class EventsHealth:
    state: EventsState
    since: float  # wall time the state was entered
    motion_events: int = 0
    tamper_events: int = 0
    last_event_at: float | None = None  # wall time
    tampered: bool = False  # the last tamper event said tampering is on
    subscriptions_created: int = 0
    renewals: int = 0
    last_error: str | None = None  # always redacted


@dataclass(frozen=True, slots=True)
class DetectionStatus:
    """What detection makes of a camera's frames (reported by the worker's detection, beside the stream health)."""

    mode: str  # "person" (person model + tracker) or "motion" (degraded: tracked motion blobs)
    frames: int = 0  # frames detection processed
    detected: int = 0  # of those, frames the person model ran on (only where there was motion)
    events: int = 0
    dropped: int = 0  # frames sent for a person check that the node detector's full queue dropped (rules skip them)
    detector_down: str | None = None  # why a person camera runs on motion now (the node detector is away)
    # "default": never calibrated, the detector starts from its built-in noise prior; else when the camera's
    # newest calibration (``shopwatch cameras calibrate``) was measured, ISO 8601 UTC
    calibration: str = "default"
    ignored_spots: int = 0  # spots operators marked "ignore" on this camera
    suppressed_by_spots: int = 0  # card-posting visits that raised nothing because of those spots


@dataclass(frozen=True, slots=True)
class CameraHealth:
    camera_id: str
    state: CameraState
    since: float  # wall time the state was entered
    mode: ActivityMode = ActivityMode.IDLE
    last_packet_age_s: float | None = None
    packets_per_s: float = 0.0
    frames_per_s: float = 0.0  # decoded frames per second
    kbit_per_s: float = 0.0
    reconnects: int = 0
    last_error: str | None = None  # always redacted
    stream: StreamInfo | None = None
    time_to_first_packet_s: float | None = None  # of the current connection
    next_retry_in_s: float | None = None
    packets_total: int = 0
    frames_total: int = 0
    keyframes_total: int = 0
    frames_dropped: int = 0  # frames a slow consumer never took
    activations: int = 0  # idle -> active switches
    # Reader errors that are bugs in shopwatch, not camera failures: each logged at ERROR with its traceback.
    internal_errors: int = 0
    worker: int | None = None
    events: EventsHealth | None = None  # ONVIF motion events, for cameras subscribed to them
    detection: DetectionStatus | None = None  # None: no detection in this worker, or no frame processed yet

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
