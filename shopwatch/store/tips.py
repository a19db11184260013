"""Tips from people: the table and blocking access to it (call from a thread in async code)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Engine, Float, Index, String, Text, func, insert, select, update
from sqlalchemy import Integer as Integer_
from sqlalchemy.orm import Mapped, mapped_column

from shopwatch.core.incident_records import Incident
from shopwatch.core.tip_records import Tip, TipStatus
from shopwatch.store.base import Base, UtcDateTime
from shopwatch.store.db import write_transaction
from shopwatch.store.incident_tables import EventRow, IncidentRow, JsonDoc
from shopwatch.store.stats_incident_upkeep import count_incidents


class TipRow(Base):
    __tablename__ = "tips"
    __table_args__ = (  # search: a window of time, a camera, a bounding box (store/search.py)
        Index("ix_tips_seen_at", "seen_at", "id"),
        Index("ix_tips_camera", "camera_id"),
        Index("ix_tips_place", "lat", "lon"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), index=True)
    filed_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime())
    filed_by: Mapped[str] = mapped_column(String(128))
    tipster: Mapped[str] = mapped_column(String(128), index=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    camera_id: Mapped[str | None] = mapped_column(String(63), nullable=True)
    address: Mapped[str] = mapped_column(String(300))
    place_from: Mapped[str] = mapped_column(String(16))
    grid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    photos: Mapped[list[str]] = mapped_column(JsonDoc)
    nearby: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    incident_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(Text)
    led_to_case: Mapped[bool] = mapped_column(Boolean)


_COLUMNS = [TipRow.__table__.c[f.name] for f in fields(Tip)]


class TipRepository:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, tip: Tip) -> None:
        with write_transaction(self._engine) as conn:
            conn.execute(insert(TipRow).values(**asdict(tip)))

    def get(self, tip_id: str) -> Tip | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(TipRow.id == tip_id)).mappings().first()
        return Tip(**row) if row is not None else None

    def find(self, *, tipster: str | None = None, status: str | None = None, limit: int = 100) -> Sequence[Tip]:
        stmt = select(*_COLUMNS).order_by(TipRow.filed_at.desc(), TipRow.id.desc()).limit(limit)
        if tipster is not None:
            stmt = stmt.where(TipRow.tipster == tipster)
        if status is not None:
            stmt = stmt.where(TipRow.status == status)
        with self._engine.connect() as conn:
            return [Tip(**row) for row in conn.execute(stmt).mappings()]

    def decide(self, tip_id: str, values: dict[str, Any]) -> bool:
        """Record an operator's decision on a candidate; False when it is no longer a candidate (decided meanwhile)."""
        with write_transaction(self._engine) as conn:
            done = conn.execute(
                update(TipRow).where(TipRow.id == tip_id, TipRow.status == TipStatus.CANDIDATE.value).values(**values)
            )
            return done.rowcount == 1

    def confirm(self, tip_id: str, values: dict[str, Any], incident: Incident) -> bool:
        """The tip becomes ``incident`` (created in the same transaction); its attached events that belong to no
        incident yet join it. False when the tip is no longer a candidate."""
        with write_transaction(self._engine) as conn:
            done = conn.execute(
                update(TipRow).where(TipRow.id == tip_id, TipRow.status == TipStatus.CANDIDATE.value).values(**values)
            )
            if done.rowcount != 1:
                return False
            conn.execute(insert(IncidentRow).values(**asdict(incident)))
            events = incident.summary.get("events", [])
            if events:
                conn.execute(
                    update(EventRow).where(EventRow.id.in_(events), EventRow.incident_id.is_(None))
                    .values(incident_id=incident.id)
                )  # fmt: skip
                count_incidents(conn, [incident.id])  # a new incident: nothing of it was counted before
            return True

    def mark_case(self, tip_id: str, led_to_case: bool) -> bool:
        with write_transaction(self._engine) as conn:
            done = conn.execute(update(TipRow).where(TipRow.id == tip_id).values(led_to_case=led_to_case))
            return done.rowcount == 1

    def stats(self, tipster: str | None = None) -> list[dict[str, Any]]:
        """Per tipster: tips filed, confirmed (or merged into an incident), led to a case."""
        confirmed = TipRow.status.in_([TipStatus.CONFIRMED.value, TipStatus.MERGED.value])
        stmt = (
            select(
                TipRow.tipster,
                func.count().label("filed"),
                func.sum(confirmed.cast(Integer_)).label("confirmed"),
                func.sum(TipRow.led_to_case.cast(Integer_)).label("led_to_case"),
            )
            .group_by(TipRow.tipster)
            .order_by(TipRow.tipster)
        )
        if tipster is not None:
            stmt = stmt.where(TipRow.tipster == tipster)
        with self._engine.connect() as conn:
            return [
                {"tipster": r.tipster, "filed": r.filed, "confirmed": int(r.confirmed or 0),
                 "led_to_case": int(r.led_to_case or 0)}
                for r in conn.execute(stmt)
            ]  # fmt: skip
