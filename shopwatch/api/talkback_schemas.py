"""Request and response bodies of the talkback API (separate ``*Create``/``*Public`` shapes, no secrets)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shopwatch.store.talkback import AuditEntry, ClipRecord, Outcome
from shopwatch.talkback.sessions import SourceKind, TalkSession

VOICE_PATTERN = r"^[A-Za-z0-9_+-]{1,40}$"
MAX_TEXT = 1000
MAX_BROADCAST = 2000


class TalkCreate(BaseModel):
    """What to play: a clip from the library or text to speak (exactly one)."""

    model_config = ConfigDict(extra="forbid")

    clip: str | None = Field(None, min_length=1, max_length=32, description="Clip id from the library.")
    text: str | None = Field(None, min_length=1, max_length=MAX_TEXT, description="Text to speak (offline TTS).")
    voice: str = Field("cmn", pattern=VOICE_PATTERN, description="TTS voice: 'cmn' (Mandarin), 'en', ...")
    queue: bool = Field(False, description="Wait for a busy speaker (bounded queue) instead of being refused.")
    override: bool = Field(False, description="Admin only: set aside consent and quiet hours (audited).")

    @model_validator(mode="after")
    def _one_sound(self) -> TalkCreate:
        if (self.clip is None) == (self.text is None or not self.text.strip()):
            raise ValueError("expected exactly one of 'clip' or 'text' (non-blank)")
        return self


class BroadcastCreate(TalkCreate):
    cameras: list[Annotated[str, Field(min_length=1, max_length=63)]] = Field(
        default_factory=list, max_length=MAX_BROADCAST, description="Camera ids."
    )
    grid: str | None = Field(
        None, min_length=1, max_length=64, description="Every enabled camera with a speaker in this grid."
    )

    @model_validator(mode="after")
    def _some_cameras(self) -> BroadcastCreate:
        if not self.cameras and self.grid is None:
            raise ValueError("expected 'cameras' (a list of ids) or 'grid'")
        return self


def _utc(wall: float | None) -> datetime | None:
    return None if wall is None else datetime.fromtimestamp(wall, UTC)


class SessionPublic(BaseModel):
    id: str
    camera_id: str
    user: str
    source: SourceKind
    clip_id: str | None
    text: str | None
    voice: str | None
    broadcast_id: str | None
    state: Outcome
    queue_position: int | None = Field(description="1 plays next; null unless queued.")
    overridden: list[str] = Field(description="Refusals an admin override set aside.")
    requested_at: datetime
    started_at: datetime | None = Field(description="When the first packet went out.")
    ended_at: datetime | None
    codec: str | None
    protocol: str | None
    played_s: float
    packets: int
    error: str | None

    @classmethod
    def of(cls, session: TalkSession, queue_position: int | None = None) -> SessionPublic:
        requested_at = _utc(session.requested_at)
        assert requested_at is not None
        return cls(
            id=session.id,
            camera_id=session.camera_id,
            user=session.user,
            source=session.kind,
            clip_id=session.sound.clip_id,
            text=session.sound.text,
            voice=session.sound.voice,
            broadcast_id=session.broadcast_id,
            state=session.outcome,
            queue_position=queue_position,
            overridden=list(session.overridden),
            requested_at=requested_at,
            started_at=_utc(session.started_at),
            ended_at=_utc(session.ended_at),
            codec=session.codec,
            protocol=session.protocol,
            played_s=round(session.played_s, 3),
            packets=session.packets,
            error=session.error,
        )


class SessionList(BaseModel):
    active: list[SessionPublic] = Field(description="Playing and queued, oldest first.")
    recent: list[SessionPublic] = Field(description="Ended (and refused) attempts, newest first.")


class BroadcastItem(BaseModel):
    camera_id: str
    status: int = Field(description="What a single POST to this camera would have answered (201, 403, ...).")
    session: SessionPublic | None
    error: str | None


class BroadcastPublic(BaseModel):
    broadcast_id: str
    started: int
    refused: int
    results: list[BroadcastItem]


class ClipPublic(BaseModel):
    id: str
    name: str
    filename: str
    duration_s: float
    checksum: str = Field(description="SHA-256 of the uploaded file, hex.")
    size_bytes: int
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, clip: ClipRecord) -> ClipPublic:
        return cls(**{name: getattr(clip, name) for name in cls.model_fields})


class ClipUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., min_length=1, max_length=100)


class AuditPublic(BaseModel):
    id: str
    requested_at: datetime
    user: str
    camera_id: str
    source: str
    outcome: Outcome
    clip_id: str | None
    text: str | None
    voice: str | None
    broadcast_id: str | None
    overridden: str | None
    started_at: datetime | None
    ended_at: datetime | None
    codec: str | None
    protocol: str | None
    played_s: float
    packets: int
    error: str | None

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditPublic:
        return cls(**{name: getattr(entry, name) for name in cls.model_fields})
