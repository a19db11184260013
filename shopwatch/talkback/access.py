"""The protocol layer the talkback service drives, as one seam: ``player.talk`` plays a source on a target, and
``target.target_for_camera`` finds a camera's talkback target. Tests and benchmarks swap in their own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from shopwatch.core.config import CameraConfig
from shopwatch.core.talkback_records import TalkResult
from shopwatch.talkback import player
from shopwatch.talkback import target as talk_target
from shopwatch.talkback.audio import AudioSource
from shopwatch.talkback.target import TalkTarget


class TalkFn(Protocol):
    def __call__(
        self,
        target: TalkTarget,
        source: AudioSource,
        *,
        max_s: float | None = None,
        on_started: Callable[[str], None] | None = None,
    ) -> Awaitable[TalkResult]: ...


@dataclass(frozen=True, slots=True)
class SpeakerAccess:
    """The protocol layer the service drives (``session.talk`` and ``target.target_for_camera`` by default)."""

    talk: TalkFn = player.talk
    target_for_camera: Callable[[CameraConfig], TalkTarget | None] = talk_target.target_for_camera
