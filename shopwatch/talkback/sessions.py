"""The talkback session record: one attempt to speak through one camera's speaker, from request to end.

The service mutates it as the talk goes (queued, active, ended with what was played); the API shows it and the
audit stores it (``audit_entry``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from shopwatch.store.talkback import AuditEntry, Outcome
from shopwatch.talkback.audio import AudioSource
from shopwatch.talkback.policy import PolicyRefused

ENDED = frozenset(
    {
        Outcome.COMPLETED,
        Outcome.TRUNCATED,
        Outcome.CANCELLED,
        Outcome.PREEMPTED,
        Outcome.FAILED,
        Outcome.REFUSED,
        Outcome.BUSY,
        Outcome.INTERRUPTED,
    }
)


class SourceKind(StrEnum):
    CLIP = "clip"
    TTS = "tts"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class Operator:
    """Who asks. Until operator login exists the API takes the name from a header (``api.operator``)."""

    name: str
    admin: bool = False


@dataclass(frozen=True, slots=True)
class Sound:
    """What to play: a clip, a sentence, or live audio. ``pcm`` (8 kHz mono PCM16) is filled in by the
    service once the request is admitted (``TalkbackService.prepare``); live audio has none."""

    kind: SourceKind
    clip_id: str | None = None
    text: str | None = None
    voice: str | None = None
    pcm: bytes = field(default=b"", repr=False)

    @classmethod
    def clip(cls, clip_id: str) -> Sound:
        return cls(SourceKind.CLIP, clip_id=clip_id)

    @classmethod
    def speech(cls, text: str, voice: str) -> Sound:
        return cls(SourceKind.TTS, text=text.strip(), voice=voice)

    @classmethod
    def live(cls) -> Sound:
        return cls(SourceKind.LIVE)


def _utc(wall: float | None) -> datetime | None:
    return None if wall is None else datetime.fromtimestamp(wall, UTC)


@dataclass(eq=False)
class TalkSession:
    """One talk attempt. Times are wall-clock seconds (shown and stored); ``played_s`` is measured on the
    monotonic clock by the sender."""

    id: str
    camera_id: str
    user: str
    sound: Sound
    requested_at: float
    broadcast_id: str | None = None
    overridden: tuple[str, ...] = ()
    outcome: Outcome = Outcome.ACTIVE
    started_at: float | None = None  # first packet sent
    ended_at: float | None = None
    codec: str | None = None
    protocol: str | None = None
    played_s: float = 0.0
    packets: int = 0
    error: str | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    finished: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def kind(self) -> SourceKind:
        return self.sound.kind

    @property
    def ended(self) -> bool:
        return self.outcome in ENDED

    def audit_entry(self) -> AuditEntry:
        requested_at = _utc(self.requested_at)
        assert requested_at is not None
        return AuditEntry(
            id=self.id,
            requested_at=requested_at,
            user=self.user,
            camera_id=self.camera_id,
            source=self.sound.kind.value,
            outcome=self.outcome,
            clip_id=self.sound.clip_id,
            text=self.sound.text,
            voice=self.sound.voice,
            broadcast_id=self.broadcast_id,
            overridden="; ".join(self.overridden) or None,
            started_at=_utc(self.started_at),
            ended_at=_utc(self.ended_at),
            codec=self.codec,
            protocol=self.protocol,
            played_s=round(self.played_s, 3),
            packets=self.packets,
            error=self.error,
        )


class UnknownCamera(KeyError):
    def __str__(self) -> str:
        return f"camera {self.args[0]!r} is not registered"


class UnknownSession(KeyError):
    def __str__(self) -> str:
        return f"talkback session {self.args[0]!r} is unknown"


class OverrideNotAllowed(PolicyRefused):
    """An override was asked for by someone who is not an admin."""


@dataclass(frozen=True, slots=True)
class TalkRequest:
    """Who asks, and how to treat a busy or refused speaker."""

    operator: Operator
    queue: bool = False  # wait for a busy speaker (clips and TTS only) instead of being refused
    override: bool = False  # admin: set aside consent and quiet hours (audited)


class CountingSource:
    """Counts the frames the sender has taken (what was played when a talk is cancelled)."""

    def __init__(self, source: AudioSource) -> None:
        self._source = source
        self.frames = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for frame in self._source:
            self.frames += 1
            yield frame


@dataclass(frozen=True, slots=True)
class TalkbackStats:
    """What the service is doing now and has counted, read at each metrics scrape."""

    active: int  # sessions holding a speaker (talking or connecting)
    queued: int  # sessions waiting for a speaker
    queue_lengths: dict[str, int]  # camera id -> claims waiting for its speaker (cameras with any)
    live_frames_dropped: int  # live audio frames dropped because the client ran ahead (since start)
    audit_pending: int  # audit entries not yet written
    audit_written: int
    audit_write_failures: int
