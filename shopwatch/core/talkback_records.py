"""The talk-session record: one attempt to speak through one camera's speaker, from request to end.

The single definition of its fields: the talkback service keeps one per talk (a new copy at each change), the
store maps ``talkback_audit`` rows to it and the API builds its session and audit schemas from it. Times are
UTC; ``played_s`` is measured on the monotonic clock by the sender. Secrets never go in here: the error text
is redacted by the talkback layer before it is recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Outcome(StrEnum):
    QUEUED = "queued"  # waiting for the speaker
    ACTIVE = "active"  # talking (or connecting)
    COMPLETED = "completed"  # the whole sound was played
    TRUNCATED = "truncated"  # stopped at the maximum session duration
    CANCELLED = "cancelled"  # DELETE, socket closed before the end, service stopping
    PREEMPTED = "preempted"  # a live operator took the speaker
    FAILED = "failed"  # device or network error
    REFUSED = "refused"  # consent, quiet hours, no speaker
    BUSY = "busy"  # another talker holds the speaker and the request could not wait
    INTERRUPTED = "interrupted"  # still queued/active when the service stopped (marked at the next start)


OUTCOMES = tuple(o.value for o in Outcome)
RUNNING = frozenset({Outcome.QUEUED, Outcome.ACTIVE})


class SourceKind(StrEnum):
    CLIP = "clip"
    TTS = "tts"
    LIVE = "live"


@dataclass(frozen=True, slots=True)
class TalkSession:
    """One talk attempt: who, when, which camera, what sound, how it went."""

    id: str
    requested_at: datetime
    user: str
    camera_id: str
    source: SourceKind
    outcome: Outcome
    clip_id: str | None = None
    text: str | None = None
    voice: str | None = None
    broadcast_id: str | None = None
    overridden: tuple[str, ...] = ()  # the refusals an admin override set aside
    started_at: datetime | None = None  # first packet sent
    ended_at: datetime | None = None
    codec: str | None = None
    protocol: str | None = None
    played_s: float = 0.0
    packets: int = 0
    error: str | None = None

    @property
    def ended(self) -> bool:
        return self.outcome not in RUNNING


@dataclass(slots=True)
class TalkResult:
    """What a talk did. ``played_s`` is measured on the monotonic clock from the first frame sent to the end
    of the last frame's audio; ``error`` is None for a talk that ended normally."""

    protocol: str
    codec: str
    packets: int
    bytes_sent: int
    played_s: float
    error: str | None = None
