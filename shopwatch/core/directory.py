"""The camera directory: the one thing incidents and talkback ask of the running fleet — which cameras there are
and how each is configured. A narrow door, so those services depend on this protocol, not on the API's wide
``Fleet`` (health, snapshots, activity) nor on ingest; the composition root hands them the live fleet."""

from __future__ import annotations

from typing import Protocol

from shopwatch.core.config import CameraConfig


class CameraDirectory(Protocol):
    def cameras(self) -> list[CameraConfig]:
        """Every registered camera (enabled or not), ordered by id."""
        ...

    def camera(self, camera_id: str) -> CameraConfig | None:
        """The camera's configuration; None for an unknown id."""
        ...
