"""Builds a real ``TalkbackService`` for tests: real policy, arbiter, clip library, TTS cache (espeak-ng) and
audit on a migrated database; only the speaker is chosen by the test.

``MemorySpeaker`` stands in for a device where the subject is arbitration and policy, not a protocol (the
brief's "test double implementing talk()'s contract"): it is a ``SpeakerLink`` driven by the real
``session.talk`` on the real loop clock, so pacing, cancellation and teardown are the real ones. End-to-end
tests use the GStreamer backchannel peer instead (``SpeakerAccess()`` with the real protocol modules)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from shopwatch.api.services import Fleet
from shopwatch.core.clock import ManualClock
from shopwatch.core.config import CameraConfig
from shopwatch.core.talkback_config import TalkbackSettings
from shopwatch.core.talkback_records import TalkResult
from shopwatch.talkback import player
from shopwatch.talkback.access import SpeakerAccess
from shopwatch.talkback.audio import AudioSource
from shopwatch.talkback.build import build_talkback
from shopwatch.talkback.errors import TalkbackUnreachable
from shopwatch.talkback.g711 import Codec
from shopwatch.talkback.service import TalkbackService
from shopwatch.talkback.speakers.link import EncodedFrame
from shopwatch.talkback.target import TalkTarget

# 2027-01-15 08:00 UTC is 16:00 in Asia/Shanghai: outside the fakes' quiet hours (22:00-07:00).
DAYTIME_WALL = 1_800_000_000.0


@dataclass
class MemoryLink:
    """One device session: records each frame with the loop time it was sent."""

    target: TalkTarget
    offers: tuple[Codec, ...] = ("PCMU",)
    fail_after: int | None = None
    protocol: str = "isapi"
    sent: list[tuple[float, EncodedFrame]] = field(default_factory=list)
    opened: bool = False
    closed: bool = False

    async def open(self, codecs: tuple[Codec, ...]) -> Codec:
        self.opened = True
        return next(c for c in codecs if c in self.offers)

    async def send(self, frame: EncodedFrame) -> None:
        if self.fail_after is not None and len(self.sent) >= self.fail_after:
            raise TalkbackUnreachable(f"connection to {self.target} broke mid-talk: reset by peer")
        self.sent.append((asyncio.get_running_loop().time(), frame))

    async def flush(self) -> None:
        """Nothing is held back: each frame went out as it came."""

    async def close(self) -> None:
        self.closed = True


@dataclass
class MemorySpeakers:
    """Every camera's speaker in memory; ``fail_after`` makes the next sessions break after N frames."""

    links: list[MemoryLink] = field(default_factory=list)
    fail_after: int | None = None

    async def talk(self, target: TalkTarget, source: AudioSource, **options: object) -> TalkResult:
        link = MemoryLink(target, fail_after=self.fail_after, protocol=target.protocol)
        self.links.append(link)
        # A memory speaker plays nothing and buffers nothing: no drain to wait for after the last frame.
        return await player.talk(replace(target, drain_s=0.0), source, link=link, **options)  # type: ignore[arg-type]

    def access(self) -> SpeakerAccess:
        return SpeakerAccess(talk=self.talk)


def speaker_camera(camera_id: str, url: str, *, grid: str = "peer", **talkback: Any) -> CameraConfig:
    """A camera whose speaker is at ``url`` (the GStreamer backchannel peer), consenting unless ``talkback`` says."""
    return CameraConfig.model_validate(
        {
            "id": camera_id,
            "name": f"Shop {camera_id}",
            "grid": grid,
            "host": "127.0.0.1",
            "credentials": {"username": "admin", "password": "peer-s3cret"},
            "talkback": {"capable": True, "allowed": True, "url": url, **talkback},
        }
    )


def build_service(
    fleet: Fleet,
    engine: Engine,
    data_dir: Path,
    *,
    access: SpeakerAccess,
    clock: ManualClock | None = None,
    settings: TalkbackSettings | None = None,
) -> TalkbackService:
    clock = clock or ManualClock(wall_start=DAYTIME_WALL)
    return build_talkback(fleet, settings or TalkbackSettings(), engine, data_dir, clock, access=access)
