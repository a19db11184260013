"""The camera directory: the one thing incidents and talkback ask of the running fleet — which cameras there are
and how each is configured. A narrow door, so those services depend on this protocol, not on the API's wide
``Fleet`` (health, snapshots, activity) nor on ingest; the composition root hands them the live fleet."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from shopwatch.core.config import CameraConfig


class CameraDirectory(Protocol):
    def cameras(self) -> list[CameraConfig]:
        """Every registered camera (enabled or not), ordered by id."""
        ...

    def camera(self, camera_id: str) -> CameraConfig | None:
        """The camera's configuration; None for an unknown id."""
        ...


class CameraRoster:
    """A ``CameraDirectory`` held in memory: the composition root builds it from the configured cameras before
    anything else (incidents and talkback need it before ingest runs) and replaces it whole on each change."""

    def __init__(self, cameras: Iterable[CameraConfig] = ()) -> None:
        self._cameras: dict[str, CameraConfig] = {}
        self.set_cameras(cameras)

    def set_cameras(self, cameras: Iterable[CameraConfig]) -> None:
        self._cameras = {cam.id: cam for cam in sorted(cameras, key=lambda c: c.id)}

    def cameras(self) -> list[CameraConfig]:
        return list(self._cameras.values())

    def camera(self, camera_id: str) -> CameraConfig | None:
        return self._cameras.get(camera_id)
