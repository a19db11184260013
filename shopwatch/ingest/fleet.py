"""``LiveFleet``: the ``Fleet`` the API reads — registered cameras from memory, health and snapshots from the
supervisor, ONVIF event health beside it, and the device's own snapshot when the stream is down."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Protocol

from shopwatch.core.config import CameraConfig
from shopwatch.core.directory import CameraRoster
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.health import CameraHealth, CameraState, EventsHealth
from shopwatch.ingest.live_feed import LiveSubscription

_STREAM_DOWN = frozenset({CameraState.OFFLINE, CameraState.STALLED, CameraState.AUTH_FAILED, CameraState.CONNECTING})


class IngestControl(Protocol):
    """What the fleet asks of ingest: the local ``ingest.supervisor.Supervisor``, or the Ray shards' supervisor
    (``cluster/ray_fleet.py``)."""

    def health(self, camera_id: str) -> CameraHealth | None: ...

    def all_health(self) -> dict[str, CameraHealth]: ...

    def request_activity(self, camera_id: str, reason: str) -> bool: ...

    def watch_live(self, camera_id: str) -> LiveSubscription: ...

    async def snapshot_jpeg(self, camera_id: str, timeout_s: float) -> bytes: ...


class EventsHealthSource(Protocol):
    def all_health(self) -> dict[str, EventsHealth]: ...


class SnapshotFallback(Protocol):
    def covers(self, camera: CameraConfig) -> bool: ...

    async def jpeg(self, camera: CameraConfig, timeout_s: float) -> bytes: ...


class LiveFleet:
    def __init__(
        self,
        supervisor: IngestControl,
        cameras: Iterable[CameraConfig] | CameraRoster = (),
        events: EventsHealthSource | None = None,
        snapshot_fallback: SnapshotFallback | None = None,
    ) -> None:
        """``cameras``: a ``CameraRoster`` shared with the services built before ingest (changes made through
        either are seen by both), or the cameras to hold."""
        self._supervisor = supervisor
        self._events = events
        self._fallback = snapshot_fallback
        self._directory = cameras if isinstance(cameras, CameraRoster) else CameraRoster(cameras)

    def set_cameras(self, cameras: Iterable[CameraConfig]) -> None:
        self._directory.set_cameras(cameras)

    def cameras(self) -> list[CameraConfig]:
        return self._directory.cameras()

    def camera(self, camera_id: str) -> CameraConfig | None:
        return self._directory.camera(camera_id)

    def health(self, camera_id: str) -> CameraHealth | None:
        health = self._supervisor.health(camera_id)
        events = None if self._events is None else self._events.all_health().get(camera_id)
        return health if health is None or events is None else replace(health, events=events)

    def all_health(self) -> dict[str, CameraHealth]:
        health = self._supervisor.all_health()
        if self._events is not None:
            for camera_id, events in self._events.all_health().items():
                if camera_id in health:
                    health[camera_id] = replace(health[camera_id], events=events)
        return health

    def request_activity(self, camera_id: str, reason: str) -> bool:
        return self._directory.camera(camera_id) is not None and self._supervisor.request_activity(camera_id, reason)

    def watch_live(self, camera_id: str) -> LiveSubscription:
        """The camera's pictures as they come (``KeyError``: not registered); close the subscription."""
        if self._directory.camera(camera_id) is None:
            raise KeyError(camera_id)
        return self._supervisor.watch_live(camera_id)

    async def snapshot_jpeg(self, camera_id: str, timeout_s: float) -> bytes:
        """A decoded frame; for an ONVIF camera whose stream is down (or gives no frame), the device's own
        snapshot instead."""
        camera = self._directory.camera(camera_id)
        if camera is None:
            raise KeyError(camera_id)
        fallback = self._fallback if self._fallback is not None and self._fallback.covers(camera) else None
        health = self._supervisor.health(camera_id)
        if fallback is not None and health is not None and health.state in _STREAM_DOWN:
            return await fallback.jpeg(camera, timeout_s)
        try:
            return await self._supervisor.snapshot_jpeg(camera_id, timeout_s)
        except SnapshotUnavailable as exc:
            if fallback is None:
                raise
            try:
                return await fallback.jpeg(camera, timeout_s)
            except SnapshotUnavailable as device_exc:
                raise SnapshotUnavailable(f"{exc}; {device_exc}") from None
