"""The delivery outbox: alerts waiting to be sent, and the record of how each send went.

Rows are written by ``EventRepository`` in the event's own transaction (``insert_deliveries``); the dispatcher
claims the due ones and records each attempt here. A delivery is ``pending`` until a receiver confirmed it
(MQTT PUBACK, HTTP 2xx), then ``delivered``; ``failed`` only when the receiver refused it for good or it kept
failing past the give-up time.

Several processes may share one database, each with its dispatcher. A dispatcher sends only rows it holds a
lease on (``leased_by`` = its name, ``lease_until`` in the future): ``claim`` takes unleased or expired rows in
one atomic statement (PostgreSQL: the candidates are locked with ``FOR UPDATE SKIP LOCKED``, so two claims
never wait on or take the same row; SQLite: the write transaction holds the database's one write lock), and
the service writes the rows of its own new events already leased to its dispatcher. A process that dies
holding a lease loses it when ``lease_until`` passes; another dispatcher then sends the row."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Update, and_, bindparam, func, insert, or_, select, update

from shopwatch.core.incident_records import Delivery, DeliveryOutcome, DeliveryState, Lease, NewDelivery
from shopwatch.store.base import UtcDateTime
from shopwatch.store.db import write_transaction
from shopwatch.store.incident_tables import DeliveryRow, EventRow


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    event_id: str | None = None
    state: DeliveryState | None = None
    limit: int = 100
    grids: frozenset[str] | None = None  # only deliveries of events in these grids (None: all)


_COLUMNS = [DeliveryRow.__table__.c[f.name] for f in fields(Delivery)]
_NEW_FIELDS = tuple(f.name for f in fields(NewDelivery))


def _values(delivery: NewDelivery) -> dict[str, Any]:
    """Its fields, sharing the payload (``asdict`` would deep-copy it)."""
    return {name: getattr(delivery, name) for name in _NEW_FIELDS}


def insert_deliveries(conn: Connection, deliveries: Sequence[NewDelivery], lease: Lease | None = None) -> None:
    """Queue deliveries inside the caller's transaction, due at once (and held by ``lease`` when given)."""
    if not deliveries:
        return
    held = {"leased_by": lease.owner, "lease_until": lease.until} if lease else {}
    rows = [
        {**_values(d), "state": DeliveryState.PENDING.value, "attempts": 0, "next_attempt_at": d.created_at, **held}
        for d in deliveries
    ]
    conn.execute(insert(DeliveryRow), rows)


def as_pending(delivery: NewDelivery, lease: Lease | None = None) -> Delivery:
    """A delivery just queued, as ``get`` would read it back."""
    return Delivery(
        **_values(delivery),
        state=DeliveryState.PENDING.value,
        attempts=0,
        next_attempt_at=delivery.created_at,
        delivered_at=None,
        last_error=None,
        leased_by=lease.owner if lease else None,
        lease_until=lease.until if lease else None,
    )


def _recording(state: DeliveryState, **values: Any) -> Update:
    return (
        update(DeliveryRow)
        .where(DeliveryRow.id == bindparam("b_id"))
        .values(attempts=DeliveryRow.attempts + 1, leased_by=None, lease_until=None, state=state.value, **values)
    )


# One statement per kind of outcome, run for many rows at once (executemany).
_RECORD = {
    DeliveryState.DELIVERED: _recording(
        DeliveryState.DELIVERED, delivered_at=bindparam("b_at", type_=UtcDateTime()), last_error=None
    ),
    DeliveryState.PENDING: _recording(
        DeliveryState.PENDING,
        last_error=bindparam("b_error"),
        next_attempt_at=bindparam("b_retry_at", type_=UtcDateTime()),
    ),
    DeliveryState.FAILED: _recording(DeliveryState.FAILED, last_error=bindparam("b_error")),
}


def _outcome_params(outcome: DeliveryOutcome) -> dict[str, Any]:
    params: dict[str, Any] = {"b_id": outcome.delivery_id}
    if outcome.state is DeliveryState.DELIVERED:
        params["b_at"] = outcome.at
    else:
        params["b_error"] = (outcome.error or "")[:2000]
    if outcome.state is DeliveryState.PENDING:
        params["b_retry_at"] = outcome.retry_at or outcome.at
    return params


def _claimable(now: datetime) -> ColumnElement[bool]:
    return and_(
        DeliveryRow.state == DeliveryState.PENDING.value,
        DeliveryRow.next_attempt_at <= now,
        or_(DeliveryRow.lease_until.is_(None), DeliveryRow.lease_until <= now),
    )


class OutboxRepository:
    """Blocking access (call it from a thread in async code)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def _write(self) -> AbstractContextManager[Connection]:
        return write_transaction(self._engine)

    def claim(self, now: datetime, limit: int, lease: Lease) -> list[Delivery]:
        """Lease up to ``limit`` due deliveries nobody holds (or whose holder's lease ran out), oldest first."""
        candidates = (
            select(DeliveryRow.id)
            .where(_claimable(now))
            .order_by(DeliveryRow.next_attempt_at, DeliveryRow.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; SQLite renders no FOR UPDATE (one writer anyway)
        )
        # The conditions again on the row itself: PostgreSQL re-checks them on the row version it updates.
        stmt = (
            update(DeliveryRow)
            .where(DeliveryRow.id.in_(candidates), _claimable(now))
            .values(leased_by=lease.owner, lease_until=lease.until)
            .returning(*_COLUMNS)
        )
        with self._write() as conn:
            claimed = [Delivery(**dict(r)) for r in conn.execute(stmt).mappings()]
        return sorted(claimed, key=lambda d: (d.next_attempt_at, d.created_at))

    def next_due(self, now: datetime) -> datetime | None:
        """When a pending delivery can next be claimed: its next attempt, or the end of the lease holding it.
        None when nothing is pending."""
        pending = DeliveryRow.state == DeliveryState.PENDING.value
        free = or_(DeliveryRow.lease_until.is_(None), DeliveryRow.lease_until <= now)
        with self._engine.connect() as conn:
            times = [
                conn.execute(select(func.min(DeliveryRow.next_attempt_at)).where(pending, free)).scalar_one_or_none(),
                conn.execute(select(func.min(DeliveryRow.lease_until)).where(pending, ~free)).scalar_one_or_none(),
            ]
        found = [self._utc(t) for t in times if t is not None]
        return min(found) if found else None

    def _utc(self, value: Any) -> datetime:
        # min() bypasses the column type: SQLite answers naive UTC wall time (or its text)
        moment = UtcDateTime().process_result_value(
            value if isinstance(value, datetime) else datetime.fromisoformat(str(value)), self._engine.dialect
        )
        assert moment is not None
        return moment

    def record(self, outcomes: Sequence[DeliveryOutcome], owner: str) -> list[str]:
        """Record attempts in one transaction, each ending ``owner``'s lease. A retry or failure counts only
        while ``owner`` still holds the row (a lease that ran out belongs to whoever took the row over); a
        delivery counts whoever holds it. Returns the ids whose outcome was recorded."""
        if not outcomes:
            return []
        with self._write() as conn:
            # The rows are locked (PostgreSQL; on SQLite the write transaction holds the database) so that what
            # is checked here is what is updated below, one statement per kind of outcome for the whole batch.
            found = conn.execute(
                select(DeliveryRow.id, DeliveryRow.leased_by)
                .where(
                    DeliveryRow.id.in_(sorted({o.delivery_id for o in outcomes})),
                    DeliveryRow.state == DeliveryState.PENDING.value,
                )
                .order_by(DeliveryRow.id)  # one lock order for every writer
                .with_for_update()
            ).all()
            holders = {delivery_id: holder for delivery_id, holder in found}
            ours = [
                o
                for o in outcomes
                if o.delivery_id in holders and (o.state is DeliveryState.DELIVERED or holders[o.delivery_id] == owner)
            ]
            for state in DeliveryState:
                rows = [_outcome_params(o) for o in ours if o.state is state]
                if rows:
                    conn.execute(_RECORD[state], rows)
        return [o.delivery_id for o in ours]

    def release(self, delivery_ids: Sequence[str], owner: str) -> None:
        """Give back ``owner``'s leases on deliveries it will not send (it is stopping), due as they were."""
        if not delivery_ids:
            return
        with self._write() as conn:
            conn.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(list(delivery_ids)), DeliveryRow.leased_by == owner)
                .values(leased_by=None, lease_until=None)
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
        if query.grids is not None:
            stmt = stmt.where(DeliveryRow.event_id.in_(_events_in(query.grids)))
        stmt = stmt.order_by(DeliveryRow.created_at.desc(), DeliveryRow.id).limit(query.limit)
        with self._engine.connect() as conn:
            return [Delivery(**dict(r)) for r in conn.execute(stmt).mappings()]

    def counts(self, grids: frozenset[str] | None = None) -> dict[str, int]:
        """Deliveries per state; with ``grids``, of those grids' events only."""
        stmt = select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state)
        if grids is not None:
            stmt = stmt.where(DeliveryRow.event_id.in_(_events_in(grids)))
        with self._engine.connect() as conn:
            found = {str(state): int(n) for state, n in conn.execute(stmt)}
        return {s.value: found.get(s.value, 0) for s in DeliveryState}


def _events_in(grids: frozenset[str]) -> Any:
    return select(EventRow.id).where(EventRow.grid.in_(grids))
