"""What the talkback service is asked and answers, beside the talk-session record (``core.talkback_records``):
who asks (``Operator``, ``TalkRequest``), what to play (``Sound``), the
service's counters, and the lookups that fail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from shopwatch.core.errors import NotFound
from shopwatch.core.talkback_records import SourceKind
from shopwatch.talkback.audio import AudioSource
from shopwatch.talkback.policy import PolicyRefused


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


class UnknownCamera(NotFound, KeyError):
    def __str__(self) -> str:
        return f"camera {self.args[0]!r} is not registered"


class UnknownSession(NotFound, KeyError):
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
