"""``LiveFleet``: the ``Fleet`` the API reads — registered cameras from memory, health and snapshots from the
supervisor."""

from __future__ import annotations

from collections.abc import Iterable

from shopwatch.core.config import CameraConfig
from shopwatch.core.health import CameraHealth
from shopwatch.ingest.supervisor import Supervisor


class LiveFleet:
    def __init__(self, supervisor: Supervisor, cameras: Iterable[CameraConfig] = ()) -> None:
        self._supervisor = supervisor
        self._cameras: dict[str, CameraConfig] = {}
        self.set_cameras(cameras)

    def set_cameras(self, cameras: Iterable[CameraConfig]) -> None:
        self._cameras = {cam.id: cam for cam in sorted(cameras, key=lambda c: c.id)}

    def cameras(self) -> list[CameraConfig]:
        return list(self._cameras.values())

    def camera(self, camera_id: str) -> CameraConfig | None:
        return self._cameras.get(camera_id)

    def health(self, camera_id: str) -> CameraHealth | None:
        return self._supervisor.health(camera_id)

    def all_health(self) -> dict[str, CameraHealth]:
        return self._supervisor.all_health()

    async def snapshot_jpeg(self, camera_id: str, timeout_s: float) -> bytes:
        if camera_id not in self._cameras:
            raise KeyError(camera_id)
        return await self._supervisor.snapshot_jpeg(camera_id, timeout_s)
