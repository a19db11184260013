"""The door from ingest to whatever consumes decoded frames in a worker process (detection, in practice).

It lives in ``core`` so that neither side imports the other: ingest must not know about rules, and detection
(``models``) must not reach into ingest. So a worker is given a factory by the composition root: it builds one
``FrameConsumer`` per worker process, hands it each camera's ``CameraFeed`` as cameras come and go, and gives it
the ``EventSink`` its events go to. That sink is the worker's own (``ingest.postroll``): it waits for each event's
post-roll, cuts the clip from the camera's packet ring, and sends the event on to the supervisor, whose
``on_published`` sink (the incident service) takes it. The factory must pickle (worker processes are spawned): a
top-level function or class, or a ``functools.partial`` of one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from shopwatch.core.config import CameraConfig
from shopwatch.core.events import EventSink
from shopwatch.core.frame import Frame
from shopwatch.core.health import DetectionStatus


class Frames(Protocol):
    """A camera's decoded frames as a consumer takes them (``ingest.slot.LatestSlot``: bounded, drops the oldest
    and counts it)."""

    def get(self, timeout: float | None = None) -> Frame | None:
        """The oldest frame waiting, waiting up to ``timeout`` for one; None when none came."""
        ...

    def drain(self) -> list[Frame]:
        """Every frame waiting, oldest first, without waiting."""
        ...


@dataclass(frozen=True, slots=True)
class CameraFeed:
    """One camera as a consumer sees it: its configuration and its frames."""

    camera: CameraConfig
    frames: Frames


class FrameConsumer(Protocol):
    def set_feeds(self, feeds: Mapping[str, CameraFeed]) -> None:
        """The worker's cameras now (added, removed or edited ones included); called from the worker's thread."""
        ...

    def health(self) -> Mapping[str, DetectionStatus]:
        """The latest status per camera, read from the worker's thread (health reports)."""
        ...

    def close(self) -> None:
        """Stop consuming (events not yet submitted are submitted now); called once, before the worker's
        readers are stopped."""
        ...


ConsumerFactory = Callable[[EventSink], FrameConsumer]
