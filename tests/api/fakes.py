"""A fake fleet passed through the same door as the real one: real CameraConfig (passwords set) and health."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterable
from datetime import time

from PIL import Image

from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.health import ActivityMode, CameraHealth, CameraState, StreamInfo
from shopwatch.ingest.live_feed import LiveHub, LivePackets, LiveSubscription, WatchLive

SINCE = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def password_of(index: int) -> str:
    return f"Pw{index:04d}-s3cr3t!"


def make_camera(index: int, grid: str = "north", *, enabled: bool = True) -> CameraConfig:
    password = password_of(index)
    return CameraConfig.model_validate(
        {
            "id": f"cam-{index:04d}",
            "name": f"Shop {index} entrance",
            "merchant": {"name": f"Merchant {index}", "phone": "+86 10 5555 0100"},
            "address": f"{index} Long Street",
            "grid": grid,
            "location": {"lat": 39.9 + index / 10_000, "lon": 116.4},
            "vendor": "hikvision",
            "host": f"10.0.{index // 250}.{index % 250 + 1}",
            "credentials": {"username": "admin", "password": password},
            "streams": {
                "detect": f"rtsp://admin:{password}@10.0.0.1:554/Streaming/Channels/102",
                "record": f"rtsp://admin:{password}@10.0.0.1:554/Streaming/Channels/101",
            },
            "talkback": {
                "capable": True,
                "allowed": index % 2 == 0,
                "quiet_hours": {"start": time(22, 0), "end": time(7, 0)},
                "url": f"isapi://admin:{password}@10.0.0.1/ISAPI/System/TwoWayAudio/channels/1",
            },
            "enabled": enabled,
        }
    )


def make_health(camera: CameraConfig, state: CameraState, *, active: bool = False) -> CameraHealth:
    password = camera.credentials.password.get_secret_value()
    online = state is CameraState.ONLINE
    return CameraHealth(
        camera_id=camera.id,
        state=state,
        since=SINCE,
        mode=ActivityMode.ACTIVE if active else ActivityMode.IDLE,
        last_packet_age_s=0.08 if online else None,
        packets_per_s=40.0 if online else 0.0,
        frames_per_s=12.0 if active else 0.5,
        kbit_per_s=384.0 if online else 0.0,
        reconnects=3,
        # A worker that forgot to redact: the API must still never show the password.
        last_error=None if online else f"connection refused: rtsp://admin:{password}@{camera.host}:554/x",
        stream=StreamInfo("h264", 640, 360, 12.0) if online else None,
        next_retry_in_s=None if online else 3.2,
        packets_total=1_000,
        frames_total=250,
        keyframes_total=40,
        frames_dropped=7,
        activations=2,
        worker=1,
    )


def jpeg_bytes(width: int = 64, height: int = 36) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


class FakeFleet:
    """Implements ``shopwatch.api.services.Fleet`` from dicts. ``snapshots`` maps an id to bytes, an exception
    to raise, or None to hang until the caller gives up."""

    def __init__(self, cameras: Iterable[CameraConfig], health: Iterable[CameraHealth] = ()) -> None:
        self._cameras = {c.id: c for c in sorted(cameras, key=lambda c: c.id)}
        self._health = {h.camera_id: h for h in health}
        self.snapshots: dict[str, bytes | BaseException | None] = {}
        self.snapshot_calls: list[tuple[str, float]] = []
        self.activity_requests: list[tuple[str, str]] = []
        self.watches: list[WatchLive] = []
        self._live: LiveHub | None = None

    def cameras(self) -> list[CameraConfig]:
        return list(self._cameras.values())

    def camera(self, camera_id: str) -> CameraConfig | None:
        return self._cameras.get(camera_id)

    def health(self, camera_id: str) -> CameraHealth | None:
        return self._health.get(camera_id)

    def all_health(self) -> dict[str, CameraHealth]:
        return dict(self._health)

    def report(self, health: CameraHealth) -> None:
        """What a worker's health report does to the real fleet."""
        self._health[health.camera_id] = health

    def watch_live(self, camera_id: str) -> LiveSubscription:
        """As the supervisor's: pictures given to ``deliver`` reach the camera's subscriptions."""
        if camera_id not in self._cameras:
            raise KeyError(camera_id)
        if self._live is None:
            self._live = LiveHub(self.watches.append)
        return self._live.subscribe(camera_id)

    def deliver(self, packets: LivePackets) -> None:
        if self._live is not None:
            self._live.deliver(packets)

    def request_activity(self, camera_id: str, reason: str) -> bool:
        self.activity_requests.append((camera_id, reason))
        return camera_id in self._cameras

    async def snapshot_jpeg(self, camera_id: str, timeout_s: float) -> bytes:
        self.snapshot_calls.append((camera_id, timeout_s))
        if camera_id not in self._cameras:
            raise KeyError(camera_id)
        outcome = self.snapshots.get(camera_id, SnapshotUnavailable("no keyframe decoded yet"))
        if outcome is None:
            await asyncio.Event().wait()  # hangs: the API's own timeout must answer
        if isinstance(outcome, BaseException):
            raise outcome
        assert isinstance(outcome, bytes)
        return outcome


# The small fleet most tests use: two grids, every interesting state, one camera never reported, one disabled.
SMALL_FLEET_STATES: dict[int, tuple[str, CameraState | None]] = {
    1: ("north", CameraState.ONLINE),
    2: ("north", CameraState.ONLINE),
    3: ("north", CameraState.OFFLINE),
    4: ("south", CameraState.STALLED),
    5: ("south", CameraState.AUTH_FAILED),
    6: ("south", None),  # no health report yet
    7: ("south", CameraState.DISABLED),
}


def small_fleet() -> FakeFleet:
    cameras = [
        make_camera(i, grid, enabled=state is not CameraState.DISABLED)
        for i, (grid, state) in SMALL_FLEET_STATES.items()
    ]
    health = [
        make_health(c, state, active=c.id == "cam-0001")
        for c, (_, state) in zip(cameras, SMALL_FLEET_STATES.values(), strict=True)
        if state is not None
    ]
    fleet = FakeFleet(cameras, health)
    fleet.snapshots["cam-0001"] = jpeg_bytes()
    return fleet


def all_passwords(fleet: FakeFleet) -> list[str]:
    return [c.credentials.password.get_secret_value() for c in fleet.cameras()]
