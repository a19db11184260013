"""Talkback storage: the audit of every talk attempt and the clip library's catalogue.

Every attempt gets one ``talkback_audit`` row, refusals included: written when the attempt is decided (outcome
``refused``/``busy``, or ``queued``/``active`` while it runs) and updated once when it ends with what was actually
played. A row still ``active`` (or ``queued``) when the service starts again is left from a crash: it is
marked ``interrupted`` then (``mark_interrupted``). The camera id is not a
foreign key: cameras from the YAML file are not in the registry table.

Clip sounds themselves live as files under the data dir (``shopwatch.talkback.clips``); ``talkback_clips`` holds
their name, duration and checksum."""

from __future__ import annotations

import builtins
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, fields
from datetime import datetime

from sqlalchemy import Connection, Engine, Float, Integer, RowMapping, String, Text, delete, insert, select, update
from sqlalchemy.orm import Mapped, mapped_column

from shopwatch.core.talkback_records import Outcome, SourceKind, TalkSession
from shopwatch.store.base import Base, UtcDateTime
from shopwatch.store.db import write_transaction


class AuditRow(Base):
    __tablename__ = "talkback_audit"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    requested_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    user: Mapped[str] = mapped_column(String(128), index=True)
    camera_id: Mapped[str] = mapped_column(String(63), index=True)
    source: Mapped[str] = mapped_column(String(8))
    clip_id: Mapped[str | None] = mapped_column(String(32))
    text: Mapped[str | None] = mapped_column(Text)
    voice: Mapped[str | None] = mapped_column(String(32))
    broadcast_id: Mapped[str | None] = mapped_column(String(32))
    overridden: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    codec: Mapped[str | None] = mapped_column(String(16))
    protocol: Mapped[str | None] = mapped_column(String(16))
    played_s: Mapped[float] = mapped_column(Float)
    packets: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)


class ClipRow(Base):
    __tablename__ = "talkback_clips"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    duration_s: Mapped[float] = mapped_column(Float)
    checksum: Mapped[str] = mapped_column(String(64))  # sha256 of the uploaded file, hex
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(128))


@dataclass(frozen=True, slots=True)
class AuditQuery:
    camera_id: str | None = None
    user: str | None = None
    outcome: Outcome | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0
    camera_ids: frozenset[str] | None = None  # only these cameras (a caller's grid scope); None: every camera


@dataclass(frozen=True, slots=True)
class ClipRecord:
    id: str
    name: str
    filename: str
    duration_s: float
    checksum: str
    size_bytes: int
    created_at: datetime
    created_by: str


_SESSION_FIELDS = tuple(f.name for f in fields(TalkSession))
_CLIP_FIELDS = tuple(f.name for f in fields(ClipRecord))
_OVERRIDDEN_SEPARATOR = "; "  # the refusals an override set aside, one text column (as the API shows it)


def _session_from_row(row: RowMapping) -> TalkSession:
    values = {name: row[name] for name in _SESSION_FIELDS}
    values["outcome"] = Outcome(values["outcome"])
    values["source"] = SourceKind(values["source"])
    values["overridden"] = tuple(values["overridden"].split(_OVERRIDDEN_SEPARATOR)) if values["overridden"] else ()
    return TalkSession(**values)


def _row_from_session(session: TalkSession) -> dict[str, object]:
    values = asdict(session)
    values["outcome"] = session.outcome.value
    values["source"] = session.source.value
    values["overridden"] = _OVERRIDDEN_SEPARATOR.join(session.overridden) or None
    values["played_s"] = round(session.played_s, 3)
    return values


class TalkbackRepository:
    """Blocking database access (call it from a thread in async code)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    # -- audit ---------------------------------------------------------------------------------------------

    def record(self, session: TalkSession) -> None:
        """Store a new attempt, or replace the stored state of one already recorded (same id)."""
        values = _row_from_session(session)
        with self._write() as conn:
            done = conn.execute(update(AuditRow).where(AuditRow.id == session.id).values(**values))
            if done.rowcount == 0:
                conn.execute(insert(AuditRow).values(**values))

    def mark_interrupted(self, now: datetime) -> int:
        """Mark every attempt still queued or active as interrupted, ended ``now``; returns how many. Called at
        start-up, before any session runs: such a row was left by a service that stopped without ending it."""
        running = (Outcome.QUEUED.value, Outcome.ACTIVE.value)
        with self._write() as conn:
            done = conn.execute(
                update(AuditRow)
                .where(AuditRow.outcome.in_(running))
                .values(
                    outcome=Outcome.INTERRUPTED.value,
                    ended_at=now,
                    error="the service stopped during this talk (found at the next start)",
                )
            )
            return int(done.rowcount)

    def audit(self, query: AuditQuery) -> builtins.list[TalkSession]:
        """Attempts matching ``query``, newest first."""
        stmt = select(AuditRow.__table__)
        if query.camera_id is not None:
            stmt = stmt.where(AuditRow.camera_id == query.camera_id)
        if query.camera_ids is not None:
            stmt = stmt.where(AuditRow.camera_id.in_(sorted(query.camera_ids)))
        if query.user is not None:
            stmt = stmt.where(AuditRow.user == query.user)
        if query.outcome is not None:
            stmt = stmt.where(AuditRow.outcome == query.outcome.value)
        if query.since is not None:
            stmt = stmt.where(AuditRow.requested_at >= query.since)
        if query.until is not None:
            stmt = stmt.where(AuditRow.requested_at < query.until)
        stmt = stmt.order_by(AuditRow.requested_at.desc(), AuditRow.id).limit(query.limit).offset(query.offset)
        with self._engine.connect() as conn:
            return [_session_from_row(r) for r in conn.execute(stmt).mappings()]

    def audit_entry(self, entry_id: str) -> TalkSession | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(AuditRow.__table__).where(AuditRow.id == entry_id)).mappings().first()
        return None if row is None else _session_from_row(row)

    # -- clip catalogue ------------------------------------------------------------------------------------

    def add_clip(self, clip: ClipRecord) -> None:
        with self._write() as conn:
            conn.execute(insert(ClipRow).values(**asdict(clip)))

    def clip(self, clip_id: str) -> ClipRecord | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(ClipRow.__table__).where(ClipRow.id == clip_id)).mappings().first()
        return None if row is None else ClipRecord(**{name: row[name] for name in _CLIP_FIELDS})

    def clips(self) -> builtins.list[ClipRecord]:
        """Every clip, by name."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(ClipRow.__table__).order_by(ClipRow.name, ClipRow.id)).mappings()
            return [ClipRecord(**{name: r[name] for name in _CLIP_FIELDS}) for r in rows]

    def rename_clip(self, clip_id: str, name: str) -> ClipRecord | None:
        with self._write() as conn:
            done = conn.execute(update(ClipRow).where(ClipRow.id == clip_id).values(name=name))
        return self.clip(clip_id) if done.rowcount else None

    def delete_clip(self, clip_id: str) -> bool:
        """False when there was no such clip."""
        with self._write() as conn:
            return conn.execute(delete(ClipRow).where(ClipRow.id == clip_id)).rowcount > 0
