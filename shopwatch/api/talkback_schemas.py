"""Request and response bodies of the talkback API (separate ``*Create``/``*Public`` shapes, no secrets)."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, get_type_hints

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from shopwatch.core.talkback_records import TalkSession
from shopwatch.store.talkback import ClipRecord

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


def _record_fields(**overrides: Any) -> dict[str, Any]:
    """The talk-session record's fields as pydantic field definitions (``overrides`` replace or add some)."""
    hints = get_type_hints(TalkSession)
    defined: dict[str, Any] = {f.name: (hints[f.name], ...) for f in fields(TalkSession)}
    defined["started_at"] = (datetime | None, Field(description="When the first packet went out."))
    defined["overridden"] = (list[str], Field(description="Refusals an admin override set aside."))
    defined["played_s"] = (float, Field(description="Seconds of audio played, to the millisecond."))
    return defined | overrides


# The session as the API shows it: the record's fields, ``outcome`` named ``state``, and the queue position.
_session_fields = _record_fields(queue_position=(int | None, Field(description="1 plays next; null unless queued.")))
_session_fields["state"] = _session_fields.pop("outcome")
# The audit as the API shows it: the record's fields, the overridden refusals as one text ("a; b").
_audit_fields = _record_fields(overridden=(str | None, ...))

if TYPE_CHECKING:
    _SessionFields = BaseModel
    _AuditFields = BaseModel
else:
    _SessionFields = create_model("_SessionFields", **_session_fields)
    _AuditFields = create_model("_AuditFields", **_audit_fields)


class SessionPublic(_SessionFields):
    @classmethod
    def of(cls, session: TalkSession, queue_position: int | None = None) -> SessionPublic:
        values = _public_values(session)
        values["state"] = values.pop("outcome")
        return cls(**values, queue_position=queue_position)


def _public_values(session: TalkSession) -> dict[str, Any]:
    values = {f.name: getattr(session, f.name) for f in fields(TalkSession)}
    values["played_s"] = round(session.played_s, 3)
    return values


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


class AuditPublic(_AuditFields):
    @classmethod
    def of(cls, entry: TalkSession) -> AuditPublic:
        values = _public_values(entry)
        values["overridden"] = "; ".join(entry.overridden) or None
        return cls(**values)
