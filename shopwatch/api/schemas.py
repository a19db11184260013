"""Response schemas: what operators see. Never a password, never a URL with userinfo.

The list route builds plain dicts (see ``shopwatch.api.views``) for speed; these models document the shape in
OpenAPI and tests validate every answer against them, so the two cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shopwatch.core.config import Transport, Vendor
from shopwatch.core.health import ActivityMode, CameraState, EventsState


class Public(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MerchantPublic(Public):
    name: str
    phone: str


class LocationPublic(Public):
    lat: float
    lon: float


class StreamsPublic(Public):
    detect: str | None = Field(description="Detection substream URL without credentials.")
    record: str | None = Field(description="Recording main-stream URL without credentials.")


class QuietHoursPublic(Public):
    start: time
    end: time


class TalkbackPublic(Public):
    capable: bool
    allowed: bool
    quiet_hours: QuietHoursPublic | None


class StreamInfoPublic(Public):
    codec: str
    width: int
    height: int
    fps: float | None


class HealthCountersPublic(Public):
    packets_total: int
    frames_total: int
    keyframes_total: int
    frames_dropped: int = Field(description="Frames a slow consumer never took.")
    activations: int = Field(description="Idle -> active switches.")
    internal_errors: int = Field(
        0, description="Reader errors that are shopwatch bugs, not camera failures (each in the log at ERROR)."
    )


class EventsHealthPublic(Public):
    state: EventsState = Field(description="ONVIF PullPoint subscription: starting, subscribed, retrying, over_limit.")
    since: datetime
    motion_events: int
    tamper_events: int
    last_event_at: datetime | None
    tampered: bool = Field(description="The last tamper event said the camera is covered, moved or blinded.")
    subscriptions_created: int
    renewals: int
    last_error: str | None = Field(description="Why the last subscription attempt failed, credentials masked.")


class DetectionStatusPublic(Public):
    mode: Literal["person", "motion"] = Field(
        description="person: person model + tracker; motion: degraded, rules on tracked motion blobs (no model)."
    )
    frames: int = Field(description="Frames detection processed.")
    detected: int = Field(description="Frames the person model ran on (only where there was motion).")
    events: int
    dropped: int = Field(
        0, description="Frames sent for a person check that the node's detector dropped (its queue was full)."
    )
    detector_down: str | None = Field(
        None, description="Why this person camera runs on motion blobs now (the node's detector is away); null: not."
    )
    calibration: str = Field(
        description="'default': never calibrated (the detector starts from its built-in noise prior); else when "
        "the camera's newest calibration was measured (ISO 8601 UTC)."
    )
    ignored_spots: int = Field(description="Spots operators marked 'ignore' on this camera.")
    suppressed_by_spots: int = Field(description="Card-posting visits that raised nothing because of those spots.")


class HealthPublic(Public):
    state: CameraState
    since: datetime = Field(description="When the state was entered, ISO 8601 UTC.")
    mode: ActivityMode
    last_packet_age_s: float | None
    packets_per_s: float
    frames_per_s: float
    kbit_per_s: float
    reconnects: int
    last_error: str | None = Field(description="Last connection error, credentials masked.")
    why_kind: str | None = Field(
        None, description="The kind of that error, for a translated word: login_refused, no_stream, refused, "
        "no_answer, not_rtsp, unreachable, closed, worker_restart or other.",
    )  # fmt: skip
    stream: StreamInfoPublic | None
    time_to_first_packet_s: float | None
    next_retry_in_s: float | None
    worker: int | None
    events: EventsHealthPublic | None = Field(None, description="ONVIF motion events; null when not subscribed.")
    detection: DetectionStatusPublic | None = Field(
        None, description="Detection on this camera's frames; null until detection processed one."
    )
    counters: HealthCountersPublic


class CameraPublic(Public):
    id: str
    name: str
    merchant: MerchantPublic
    address: str
    grid: str
    location: LocationPublic | None
    vendor: Vendor
    host: str
    port: int
    transport: Transport | None
    has_credentials: bool = Field(description="A user name is configured (the credentials are never shown).")
    streams: StreamsPublic
    talkback: TalkbackPublic
    enabled: bool
    health: HealthPublic | None = Field(description="Latest health; null until the camera's worker reports.")


class FleetSummary(Public):
    total: int = Field(description="Cameras counted in this summary.")
    by_state: dict[CameraState, int] = Field(description="Cameras per state, every state present (0 included).")
    no_health: int = Field(description="Cameras without a health report yet.")


class CameraList(Public):
    count: int = Field(description="Cameras in `cameras` (after every filter).")
    summary: FleetSummary = Field(
        description="Counts per state of the cameras matching every filter except `state`, so a console can "
        "show the count behind each state tab while one is selected."
    )
    cameras: list[CameraPublic]


class Healthz(Public):
    status: Literal["ok"]
    cameras: int = Field(description="Registered cameras.")
    online: int = Field(description="Cameras whose latest health is 'online'.")
