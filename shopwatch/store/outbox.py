"""The delivery outbox: alerts waiting to be sent, and the record of how each send went.

Rows are written by ``EventRepository`` in the event's own transaction (``insert_deliveries``); the dispatcher
reads the due ones and records each attempt here. A delivery is ``pending`` until a receiver confirmed it
(MQTT PUBACK, HTTP 2xx), then ``delivered``; ``failed`` only when the receiver refused it for good or it kept
failing past the give-up time. One dispatcher per database (the service's), so no row locking is needed."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update

from shopwatch.store.base import UtcDateTime
from shopwatch.store.db import write_transaction
from shopwatch.store.incident_tables import DeliveryRow


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NewDelivery:
    id: str  # also the idempotency key receivers see
    event_id: str
    reason: str  # alert | escalation
    team: str
    channel: str  # mqtt | webhook
    target: str  # topic or URL
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event_id: str
    reason: str
    team: str
    channel: str
    target: str
    payload: dict[str, Any]
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    event_id: str | None = None
    state: DeliveryState | None = None
    limit: int = 100


_COLUMNS = [DeliveryRow.__table__.c[f.name] for f in fields(Delivery)]


def insert_deliveries(conn: Connection, deliveries: Sequence[NewDelivery]) -> None:
    """Queue deliveries inside the caller's transaction, due at once."""
    if not deliveries:
        return
    rows = [
        {**asdict(d), "state": DeliveryState.PENDING.value, "attempts": 0, "next_attempt_at": d.created_at}
        for d in deliveries
    ]
    conn.execute(insert(DeliveryRow), rows)


class OutboxRepository:
    """Blocking access (call it from a thread in async code)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    def due(self, now: datetime, limit: int, exclude: Sequence[str] = ()) -> list[Delivery]:
        """Pending deliveries whose next attempt is due, oldest first (``exclude``: ones being sent now)."""
        stmt = select(*_COLUMNS).where(
            DeliveryRow.state == DeliveryState.PENDING.value, DeliveryRow.next_attempt_at <= now
        )
        if exclude:
            stmt = stmt.where(DeliveryRow.id.not_in(list(exclude)))
        stmt = stmt.order_by(DeliveryRow.next_attempt_at, DeliveryRow.created_at).limit(limit)
        with self._engine.connect() as conn:
            return [Delivery(**dict(r)) for r in conn.execute(stmt).mappings()]

    def next_due(self, exclude: Sequence[str] = ()) -> datetime | None:
        """When the earliest pending delivery is due; None when nothing is pending."""
        stmt = select(func.min(DeliveryRow.next_attempt_at)).where(DeliveryRow.state == DeliveryState.PENDING.value)
        if exclude:
            stmt = stmt.where(DeliveryRow.id.not_in(list(exclude)))
        with self._engine.connect() as conn:
            value = conn.execute(stmt).scalar_one_or_none()
        if value is None:
            return None
        # min() bypasses the column type: SQLite answers naive UTC wall time (or its text)
        return UtcDateTime().process_result_value(
            value if isinstance(value, datetime) else datetime.fromisoformat(str(value)), self._engine.dialect
        )

    def delivered(self, delivery_id: str, at: datetime) -> None:
        self._set(delivery_id, state=DeliveryState.DELIVERED.value, delivered_at=at, last_error=None)

    def retry(self, delivery_id: str, error: str, next_attempt_at: datetime) -> None:
        self._set(delivery_id, last_error=error[:2000], next_attempt_at=next_attempt_at)

    def failed(self, delivery_id: str, error: str) -> None:
        self._set(delivery_id, state=DeliveryState.FAILED.value, last_error=error[:2000])

    def _set(self, delivery_id: str, **values: Any) -> None:
        with self._write() as conn:
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id)
                .values(attempts=DeliveryRow.attempts + 1, **values)
            )

    def get(self, delivery_id: str) -> Delivery | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(*_COLUMNS).where(DeliveryRow.id == delivery_id)).mappings().first()
        return None if row is None else Delivery(**dict(row))

    def find(self, query: DeliveryQuery) -> list[Delivery]:
        """Newest first."""
        stmt = select(*_COLUMNS)
        if query.event_id is not None:
            stmt = stmt.where(DeliveryRow.event_id == query.event_id)
        if query.state is not None:
            stmt = stmt.where(DeliveryRow.state == query.state.value)
        stmt = stmt.order_by(DeliveryRow.created_at.desc(), DeliveryRow.id).limit(query.limit)
        with self._engine.connect() as conn:
            return [Delivery(**dict(r)) for r in conn.execute(stmt).mappings()]

    def counts(self) -> dict[str, int]:
        stmt = select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state)
        with self._engine.connect() as conn:
            found = {str(state): int(n) for state, n in conn.execute(stmt)}
        return {s.value: found.get(s.value, 0) for s in DeliveryState}
