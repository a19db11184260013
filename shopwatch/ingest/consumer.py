"""The door from ingest to whatever consumes decoded frames in a worker process (detection, in practice).

Ingest must not know about rules, so a worker is given a factory by the composition root: it builds one
``FrameConsumer`` per worker process, hands it each camera's ``CameraFeed`` as cameras come and go, and gives it a
``publish`` callback whose values (events) travel to the supervisor's ``on_published``. The factory must pickle
(worker processes are spawned): a top-level function or class, or a ``functools.partial`` of one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shopwatch.core.config import CameraConfig
from shopwatch.core.frame import Frame
from shopwatch.core.health import DetectionStatus
from shopwatch.ingest.clip import ClipInfo
from shopwatch.ingest.slot import LatestSlot


@dataclass(frozen=True, slots=True)
class CameraFeed:
    """One camera as a consumer sees it: its configuration, its frames, and its packet ring for clips."""

    camera: CameraConfig
    frames: LatestSlot[Frame]
    # Cut an MP4 clip from the ring, from the keyframe at or before ``start`` to ``end`` (wall times); raises
    # ``ClipError`` when the ring no longer reaches back that far or holds no keyframe.
    cut_clip: Callable[[float, float, Path], ClipInfo]


class FrameConsumer(Protocol):
    def set_feeds(self, feeds: Mapping[str, CameraFeed]) -> None:
        """The worker's cameras now (added, removed or edited ones included); called from the worker's thread."""
        ...

    def health(self) -> Mapping[str, DetectionStatus]:
        """The latest status per camera, read from the worker's thread (health reports)."""
        ...

    def close(self) -> None:
        """Stop consuming; called once, before the worker's readers are stopped."""
        ...


Publish = Callable[[object], None]
ConsumerFactory = Callable[[Publish], FrameConsumer]
