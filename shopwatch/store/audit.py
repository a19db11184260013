"""The audit log of sensitive actions: who (user or key, and role), when, what (action, target, detail) and
from where (client address). Append-only: nothing here updates or deletes a row.

Ids grow with every entry, so paging goes backwards from the newest with ``before_id`` and stays stable while
new entries arrive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Engine, Integer, RowMapping, String, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from shopwatch.core.audit_records import AuditRecord
from shopwatch.store.base import Base, UtcDateTime
from shopwatch.store.db import write_options

# SQLite makes only an INTEGER PRIMARY KEY an auto-incrementing row id.
_ID = BigInteger().with_variant(Integer(), "sqlite")


class AuditLogRow(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(_ID, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(128), index=True)
    actor_kind: Mapped[str] = mapped_column(String(16))  # "user", "key", "anonymous" (failed logins), "system"
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str | None] = mapped_column(String(200), index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    client: Mapped[str | None] = mapped_column(String(64))


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." ("login." matches login.failed, login.limited)
    target: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


def _record(row: RowMapping) -> AuditRecord:
    return AuditRecord(
        id=row["id"], at=row["at"], actor=row["actor"], actor_kind=row["actor_kind"], role=row["role"],
        action=row["action"], target=row["target"], detail=dict(row["detail"] or {}), client=row["client"],
    )  # fmt: skip


class AuditRepository:
    """Blocking database access (call it from a thread in async code)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def append(self, record: AuditRecord) -> int:
        values = {
            "at": record.at, "actor": record.actor[:128], "actor_kind": record.actor_kind, "role": record.role,
            "action": record.action, "target": None if record.target is None else record.target[:200],
            "detail": record.detail, "client": None if record.client is None else record.client[:64],
        }  # fmt: skip
        with self._engine.connect() as conn:
            conn = conn.execution_options(**write_options())
            with conn.begin():
                key = conn.execute(insert(AuditLogRow).values(**values)).inserted_primary_key
                assert key is not None
                return int(key[0])

    def query(self, where: AuditFilter) -> list[AuditRecord]:
        """Entries matching ``where``, newest first, at most ``limit``."""
        stmt = select(AuditLogRow.__table__)
        if where.actor is not None:
            stmt = stmt.where(AuditLogRow.actor == where.actor)
        if where.action is not None:
            if where.action.endswith("."):
                stmt = stmt.where(AuditLogRow.action.startswith(where.action, autoescape=True))
            else:
                stmt = stmt.where(AuditLogRow.action == where.action)
        if where.target is not None:
            stmt = stmt.where(AuditLogRow.target == where.target)
        if where.since is not None:
            stmt = stmt.where(AuditLogRow.at >= where.since)
        if where.until is not None:
            stmt = stmt.where(AuditLogRow.at < where.until)
        if where.before_id is not None:
            stmt = stmt.where(AuditLogRow.id < where.before_id)
        stmt = stmt.order_by(AuditLogRow.id.desc()).limit(where.limit)
        with self._engine.connect() as conn:
            return [_record(r) for r in conn.execute(stmt).mappings()]
