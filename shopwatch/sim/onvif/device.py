"""One simulated ONVIF device: what it is (``DeviceSpec``), its clock, its login and its event subscriptions.

The device clock is the host's real wall clock plus ``skew_s``: clients sign WS-Security tokens with their
real clock, so that is the clock skew is measured against. Subscription lifetimes run on the injected
``clock`` (monotonic), so tests expire or renew subscriptions without sleeping.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

from shopwatch.core.clock import Clock, SystemClock
from shopwatch.onvif.soap import UsernameToken

Encoding = Literal["H264", "H265", "JPEG"]
SnapshotAuth = Literal["digest", "basic", "none"]
MAX_QUEUED_EVENTS = 256  # per subscription; older events are dropped (and counted) past this

# Topic -> the Data item that carries the state (ONVIF Core Specification, Appendix "Event topics").
MOTION_TOPICS = {
    "RuleEngine/CellMotionDetector/Motion": "IsMotion",
    "VideoSource/MotionAlarm": "State",
    "RuleEngine/MotionRegionDetector/Motion": "State",
    "RuleEngine/TamperDetector/Tamper": "IsTamper",
    "VideoSource/GlobalSceneChange/ImagingService": "State",
}


@dataclass(frozen=True)
class SimProfile:
    token: str
    name: str
    width: int
    height: int
    stream_url: str  # rtsp:// URL without credentials
    encoding: Encoding = "H264"
    fps: int = 12
    bitrate_kbps: int = 512
    audio_output: bool = False  # the profile carries AudioOutput + AudioDecoder: an audio backchannel


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    profiles: tuple[SimProfile, ...]
    username: str = ""  # empty: no login required
    password: str = ""
    manufacturer: str = "Shopwatch Sim"
    model: str = "SW-IPC-1"
    firmware: str = "1.0.0"
    serial: str = "SW-000001"
    hardware: str = "SW-HW-1"
    location: str = "shanghai"
    skew_s: float = 0.0  # device clock minus real time
    auth_window_s: float = 5.0  # a UsernameToken created further than this from the device clock is refused
    media2: bool = True
    events: bool = True
    audio_outputs: int = 0
    snapshot_auth: SnapshotAuth = "digest"
    reported_snapshot_url: str | None = None  # a compromised camera: GetSnapshotUri names this instead of itself
    reported_media2_url: str | None = None  # ... GetServices names this as its Media2 address
    reported_pullpoint_url: str | None = None  # ... CreatePullPointSubscription names this as the subscription
    endpoint: str = field(default_factory=lambda: f"urn:uuid:{uuid.uuid4()}")


@dataclass
class SimEvent:
    topic: str  # without prefix: "RuleEngine/CellMotionDetector/Motion"
    state: bool
    utc: datetime
    source_token: str = "VSC_1"


@dataclass
class Subscription:
    sid: int
    expires_at: float  # on the device's injected clock (monotonic)
    queue: deque[SimEvent] = field(default_factory=lambda: deque(maxlen=MAX_QUEUED_EVENTS))
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    renewals: int = 0


@dataclass
class DeviceCounters:
    subscriptions_created: int = 0
    renewals: int = 0
    unsubscribes: int = 0
    pulls: int = 0
    auth_refused: int = 0
    events_dropped: int = 0


class SimDevice:
    """State of one device. Methods run on the server's event loop (the server hands them over)."""

    def __init__(self, spec: DeviceSpec, clock: Clock | None = None) -> None:
        self.spec = spec
        self.clock = clock or SystemClock()
        self.base_url = ""  # http://host:port, set when the server binds
        self.subscriptions: dict[int, Subscription] = {}
        self.counters = DeviceCounters()
        self._ids = itertools.count(1)

    # -- clock and login ---------------------------------------------------------------------------
    def now(self) -> datetime:
        return datetime.fromtimestamp(time.time() + self.spec.skew_s, UTC)

    def authorized(self, token: UsernameToken | None) -> bool:
        if not self.spec.username:
            return True
        ok = (
            token is not None
            and token.username == self.spec.username
            and token.matches(self.spec.password)
            and token.created is not None
            and abs((token.created - self.now()).total_seconds()) <= self.spec.auth_window_s
        )
        if not ok:
            self.counters.auth_refused += 1
        return ok

    # -- subscriptions -----------------------------------------------------------------------------
    def subscribe(self, seconds: float) -> Subscription:
        self._expire()
        sub = Subscription(next(self._ids), self.clock.monotonic() + seconds)
        self.subscriptions[sub.sid] = sub
        self.counters.subscriptions_created += 1
        return sub

    def subscription(self, sid: int) -> Subscription | None:
        self._expire()
        return self.subscriptions.get(sid)

    def renew(self, sub: Subscription, seconds: float) -> None:
        sub.expires_at = self.clock.monotonic() + seconds
        sub.renewals += 1
        self.counters.renewals += 1

    def unsubscribe(self, sid: int) -> bool:
        gone = self.subscriptions.pop(sid, None)
        if gone is not None:
            self.counters.unsubscribes += 1
            gone.wakeup.set()
        return gone is not None

    def remaining_s(self, sub: Subscription) -> float:
        return sub.expires_at - self.clock.monotonic()

    def drop_subscriptions(self) -> None:
        """Forget every subscription, as a device does when it reboots."""
        for sub in self.subscriptions.values():
            sub.wakeup.set()
        self.subscriptions.clear()

    def emit(self, topic: str, state: bool) -> int:
        """Queue an event on every live subscription; returns how many got it."""
        if topic not in MOTION_TOPICS:
            raise ValueError(f"expected one of {', '.join(MOTION_TOPICS)}, found topic {topic!r}")
        self._expire()
        for sub in self.subscriptions.values():
            if len(sub.queue) == sub.queue.maxlen:
                self.counters.events_dropped += 1
            sub.queue.append(SimEvent(topic, state, self.now()))
            sub.wakeup.set()
        return len(self.subscriptions)

    def _expire(self) -> None:
        now = self.clock.monotonic()
        for sid in [sid for sid, sub in self.subscriptions.items() if sub.expires_at <= now]:
            self.subscriptions.pop(sid).wakeup.set()

    def termination(self, sub: Subscription) -> datetime:
        return self.now() + timedelta(seconds=self.remaining_s(sub))
