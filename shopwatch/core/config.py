"""Configuration models (pydantic v2). One YAML file validates into ``Settings``.

Every field is described and bounded; unknown keys are refused (``extra="forbid"``) so a typo is an error,
not a silently ignored setting. Loading with line numbers lives in ``config_loader``.
"""

from __future__ import annotations

import re
from datetime import time
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from shopwatch.core.access_config import AuthSettings
from shopwatch.core.api_limits_config import RequestLimits
from shopwatch.core.api_security_config import ApiSecurity, ApiTls
from shopwatch.core.cluster_config import ClusterSettings
from shopwatch.core.console_config import ConsoleSettings
from shopwatch.core.detect_config import CameraDetection, DetectSettings
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.core.onvif_config import OnvifCamera, OnvifSettings
from shopwatch.core.report_config import ReportSettings
from shopwatch.core.talkback_config import DEFAULT_DRAIN_MS, RtpProfile, TalkbackSettings
from shopwatch.core.time_zone import TimeZoneName

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
Slug = Annotated[
    str,
    Field(pattern=SLUG_RE.pattern, description="Lower-case letters, digits, '-' and '_', 1-63 characters."),
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class Vendor(StrEnum):
    HIKVISION = "hikvision"
    DAHUA = "dahua"
    UNIVIEW = "uniview"
    AXIS = "axis"
    ONVIF = "onvif"
    GENERIC = "generic"


class Transport(StrEnum):
    TCP = "tcp"
    UDP = "udp"


class Merchant(Strict):
    name: str = Field("", max_length=200, description="The shop or business that owns the camera.")
    phone: str = Field(
        "", max_length=40, pattern=r"^[0-9+() \-]*$", description="Contact phone of the merchant."
    )
    kind: str = Field(
        "", max_length=40, description="Kind of business (e.g. 宾馆, 串店, 学校); group-chat rules can match it."
    )


class Location(Strict):
    lat: float = Field(..., ge=-90, le=90, description="Latitude, WGS84 degrees.")
    lon: float = Field(..., ge=-180, le=180, description="Longitude, WGS84 degrees.")


class Credentials(Strict):
    username: str = Field("", max_length=128, description="Camera user name.")
    password: SecretStr = Field(
        SecretStr(""), description="Camera password, inline or as a ${SHOPWATCH_...} reference resolved at load."
    )


class Streams(Strict):
    detect: str | None = Field(
        None, description="Detection substream URL (rtsp://host:port/path). Empty: filled by ONVIF onboarding."
    )
    record: str | None = Field(None, description="Recording main-stream URL. Empty: filled by ONVIF onboarding.")

    @field_validator("detect", "record")
    @classmethod
    def _rtsp_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^rtsps?://[^/\s]+", value):
            raise ValueError(f"expected an rtsp:// or rtsps:// URL, found {value.split('@')[-1]!r}")
        return value


class QuietHours(Strict):
    start: time = Field(..., description="Local time at which talkback stops being allowed.")
    end: time = Field(..., description="Local time at which talkback is allowed again (may be after midnight).")

    def contains(self, t: time) -> bool:
        if self.start <= self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


class Talkback(Strict):
    capable: bool = Field(False, description="The camera (or a paired speaker) can play audio.")
    allowed: bool = Field(False, description="The merchant consented to talkback through this speaker.")
    quiet_hours: QuietHours | None = Field(None, description="Local hours during which talkback is refused.")
    url: str | None = Field(
        None, description="Talkback target (rtsp://, isapi://, dahua://); default: derived from vendor."
    )
    rtp: RtpProfile = Field(default_factory=RtpProfile, description="RTP shape for the RTSP backchannel.")
    drain_ms: int = Field(
        DEFAULT_DRAIN_MS, ge=0, le=5000, description="Wait after the last frame before closing (playback buffer)."
    )
    backchannel_only: bool = Field(
        True,
        description="RTSP: set up the backchannel alone, not the video too (saves a stream per talk); a camera"
        " that refuses PLAY then gets every track. false: always every track.",
    )


class CameraConfig(Strict):
    id: Slug
    name: str = Field(..., min_length=1, max_length=200, description="Human name shown to operators.")
    merchant: Merchant = Field(default_factory=Merchant, description="Who owns the camera.")
    address: str = Field("", max_length=300, description="Street address of the shop.")
    grid: str = Field(..., min_length=1, max_length=64, description="Community/grid (网格) the camera belongs to.")
    location: Location | None = Field(None, description="Where the camera is (for maps and cross-camera linking).")
    vendor: Vendor = Field(Vendor.GENERIC, description="Camera make; selects vendor quirks and talkback protocol.")
    host: str = Field(..., min_length=1, max_length=253, description="Camera host name or IP address.")
    port: int = Field(554, ge=1, le=65535, description="RTSP port.")
    onvif_port: int = Field(80, ge=1, le=65535, description="ONVIF (HTTP) port.")
    credentials: Credentials = Field(default_factory=Credentials, description="Camera login.")
    streams: Streams = Field(default_factory=Streams, description="Stream URLs.")
    transport: Transport | None = Field(None, description="RTSP transport; default: ingest.transport.")
    talkback: Talkback = Field(default_factory=Talkback, description="Speaker capability and consent.")
    enabled: bool = Field(True, description="Disabled cameras are kept in the registry but not read.")
    onvif: OnvifCamera | None = Field(None, description="What ONVIF onboarding found; empty for other cameras.")
    detection: CameraDetection = Field(
        default_factory=CameraDetection, description="Zones and rules of detection (as in a CAMERA.yaml for analyze)."
    )

    def secrets(self) -> tuple[str, ...]:
        pw = self.credentials.password.get_secret_value()
        return (pw,) if pw else ()


class Backoff(Strict):
    initial_s: float = Field(0.5, gt=0, le=60, description="First reconnect delay.")
    factor: float = Field(2.0, ge=1, le=10, description="Each failure multiplies the delay by this.")
    max_s: float = Field(30.0, gt=0, le=3600, description="Cap on the reconnect delay.")
    jitter: float = Field(0.2, ge=0, le=1, description="Random spread, as a fraction of the delay (±).")
    auth_retry_s: float = Field(
        120.0, ge=5, le=86400, description="Delay between attempts after 401/403 (slow, not hammered)."
    )

    @model_validator(mode="after")
    def _cap_above_initial(self) -> Backoff:
        if self.max_s < self.initial_s:
            raise ValueError(f"max_s ({self.max_s}) must be >= initial_s ({self.initial_s})")
        return self


class Activity(Strict):
    idle_keyframe_interval_s: float = Field(
        3.0, ge=0.5, le=60, description="In idle, decode at most one keyframe this often (motion check, snapshot)."
    )
    keyframe_size_change: float = Field(
        0.02,
        gt=0,
        le=1,
        description="In idle, a due keyframe is decoded only if its size differs from the last decoded keyframe's by"
        " this fraction (or by 3x the stream's own keyframe-to-keyframe noise, if more): an unchanged scene keeps"
        " its keyframe size.",
    )
    idle_keyframe_max_interval_s: float = Field(
        30.0,
        ge=1,
        le=600,
        description="In idle, decode a keyframe at least this often even when sizes show no change (slow changes,"
        " snapshot freshness).",
    )
    pframe_ratio: float = Field(
        1.8,
        ge=1.05,
        le=20,
        description="P-frame bytes above this multiple of the running baseline (and above the stream's idle noise"
        " and 3 % of a keyframe per P-frame) mean activity.",
    )
    pframe_window: int = Field(
        6, ge=2, le=100, description="P-frames averaged before comparing with the baseline."
    )
    motion_threshold: float = Field(
        0.004, gt=0, le=1, description="Fraction of changed luma pixels between keyframes that means motion."
    )
    quiet_s: float = Field(10.0, ge=1, le=600, description="Seconds without activity before active returns to idle.")
    detect_fps: float = Field(6.0, gt=0, le=30, description="Frames per second handed to detection when active.")
    preroll_s: float = Field(
        4.0, ge=0, le=60, description="Packets kept for clips before an event (at least back to a keyframe)."
    )
    clip_history_s: float = Field(
        60.0,
        ge=0,
        le=600,
        description="While active, packets are also kept this long, so an event's clip reaches back to where the"
        " visit began (~3 MB per active camera at 400 kbit/s; idle cameras keep only preroll_s).",
    )
    postroll_s: float = Field(3.0, ge=0, le=60, description="An event's clip goes on this long after the event.")

    @model_validator(mode="after")
    def _max_interval_above_interval(self) -> Activity:
        if self.idle_keyframe_max_interval_s < self.idle_keyframe_interval_s:
            raise ValueError(
                f"idle_keyframe_max_interval_s ({self.idle_keyframe_max_interval_s}) must be >="
                f" idle_keyframe_interval_s ({self.idle_keyframe_interval_s})"
            )
        return self


class Ingest(Strict):
    workers: int = Field(0, ge=0, le=64, description="Worker processes; 0 = as many as cameras_per_worker needs.")
    cameras_per_worker: int = Field(100, ge=1, le=300, description="Cameras per worker process.")
    transport: Transport = Field(Transport.TCP, description="Default RTSP transport.")
    open_timeout_s: float = Field(10.0, gt=0, le=120, description="Time allowed to open a stream.")
    read_timeout_s: float = Field(6.0, gt=0, le=120, description="Time without data before the read fails.")
    stall_after_s: float = Field(3.0, gt=0, le=120, description="No packet for this long: state 'stalled'.")
    health_interval_s: float = Field(1.0, gt=0, le=60, description="How often workers report health.")
    open_rate: float = Field(
        10.0, gt=0, le=1000, description="Stream opens per second per worker process, reconnects included (jittered)."
    )
    opens_in_flight: int = Field(4, ge=1, le=100, description="Opens awaiting an answer at once, per worker process.")
    worker_nice: int = Field(
        0, ge=0, le=19,
        description="Worker processes run this much nicer than the main process (os.nice), so the API, the "
        "supervisor and alerts would keep their CPU when readers saturate the machine; not shown to help yet "
        "(docs/FLEET.md). 0: the same priority.",
    )  # fmt: skip
    reader: Literal["ffmpeg", "native"] = Field(
        "ffmpeg",
        description="How streams are read: 'ffmpeg' (a PyAV thread per camera, any codec, TCP or UDP) or 'native' "
        "(one thread per worker process for all its cameras, H.264 over RTSP/TCP; a camera on UDP keeps the FFmpeg "
        "reader). docs/FLEET.md compares them.",
    )
    backoff: Backoff = Field(default_factory=Backoff, description="Reconnect backoff.")
    activity: Activity = Field(default_factory=Activity, description="Activity gating (idle/active).")

    @model_validator(mode="after")
    def _stall_before_timeout(self) -> Ingest:
        if self.stall_after_s >= self.read_timeout_s:
            raise ValueError(
                f"stall_after_s ({self.stall_after_s}) must be < read_timeout_s ({self.read_timeout_s}),"
                " or 'stalled' is never seen before the reconnect"
            )
        return self


class Api(Strict):
    host: str = Field("127.0.0.1", description="Address the API listens on.")
    port: int = Field(8080, ge=0, le=65535, description="API port (0 = any free port).")
    live_views: int = Field(
        16, ge=0, le=1000, description="Live views (MJPEG) streaming at once, all cameras together; 0: none."
    )
    limits: RequestLimits = Field(
        default_factory=RequestLimits, description="Request body, header, WebSocket message and stream bounds."
    )
    security: ApiSecurity = Field(
        default_factory=ApiSecurity, description="API description access, security headers, allowed origins."
    )
    tls: ApiTls | None = Field(None, description="Serve HTTPS with this certificate and key; null: plain HTTP.")
    timezone: TimeZoneName = Field(
        "Asia/Shanghai", min_length=1, max_length=64, description="IANA time zone the console shows times in."
    )
    console: ConsoleSettings = Field(default_factory=ConsoleSettings, description="The operator console's map.")


class Service(Strict):
    data_dir: str = Field("./data", description="Where the SQLite database, snapshots and clips live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default SQLite in data_dir. SHOPWATCH_DATABASE_URL overrides."
    )
    secret_key_file: str | None = Field(
        None,
        description="Key file of the passwords encrypted in the database (default <data_dir>/secret.key, created "
        "0600); SHOPWATCH_SECRET_KEY overrides. See docs/SECURITY.md.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    library_log_level: Literal["debug", "info", "warning", "error"] = Field(
        "warning", description="Log level of third-party libraries (httpx, zeep, uvicorn, ...)."
    )
    reload_interval_s: float = Field(
        2.0, gt=0, le=3600, description="How often the config file and registry are checked for edits."
    )


class Settings(Strict):
    service: Service = Field(default_factory=Service, description="Process-wide settings.")
    api: Api = Field(default_factory=Api, description="HTTP API.")
    ingest: Ingest = Field(default_factory=Ingest, description="Stream ingest.")
    onvif: OnvifSettings = Field(default_factory=OnvifSettings, description="ONVIF onboarding, events, snapshots.")
    detect: DetectSettings = Field(default_factory=DetectSettings, description="Detection (models, motion, tracking).")
    talkback: TalkbackSettings = Field(
        default_factory=TalkbackSettings, description="Talkback: session limit, speaker queues, clips, TTS cache."
    )
    auth: AuthSettings = Field(
        default_factory=AuthSettings, description="Operator login: token lifetime, cookie, login rate limits."
    )
    incidents: IncidentsSettings = Field(
        default_factory=IncidentsSettings,
        description="Incidents: patrol teams, alert delivery (MQTT, webhooks), retention, linking, deterrence.",
    )
    report: ReportSettings = Field(
        default_factory=ReportSettings, description="The monthly report: station name, Chromium for the PDF."
    )
    cluster: ClusterSettings = Field(
        default_factory=ClusterSettings, description="Scale-out on Ray (serve --ray): shards, health pulls, spool."
    )
    cameras: list[CameraConfig] = Field(default_factory=list, description="Cameras (also importable from CSV).")

    @field_validator("cameras")
    @classmethod
    def _unique_ids(cls, cameras: list[CameraConfig]) -> list[CameraConfig]:
        seen: set[str] = set()
        for cam in cameras:
            if cam.id in seen:
                raise ValueError(f"camera id {cam.id!r} appears more than once")
            seen.add(cam.id)
        return cameras
