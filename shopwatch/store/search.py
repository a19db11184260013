"""Blocking reads for search (call from a thread in async code): events of some cameras, and tips at some place,
in a time window, oldest first, a page at a time after a cursor's key.

Both are answered from indexes: events by ``ix_events_camera_start`` (camera, start, id), tips by their time
(``ix_tips_seen_at``), their camera (``ix_tips_camera``) or their position (``ix_tips_place``, the bounding box
the caller gives; the exact distance is the caller's to check)."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, fields
from datetime import datetime
from enum import IntEnum

from sqlalchemy import ColumnElement, Engine, Select, SQLColumnExpression, and_, false, func, or_, select

from shopwatch.core.errors import Invalid
from shopwatch.core.incident_records import StoredEvent
from shopwatch.core.tip_records import Tip
from shopwatch.store.incident_tables import EventRow
from shopwatch.store.tips import TipRow


class Kind(IntEnum):
    """What a result is; at the same instant events come before tips (the cursor's order)."""

    EVENT = 0
    TIP = 1


@dataclass(frozen=True, slots=True, order=True)
class Key:
    """A result's place in the answer's order: time, kind, id."""

    time: datetime
    kind: Kind
    id: str

    def encode(self) -> str:
        raw = json.dumps([self.time.isoformat(), int(self.kind), self.id]).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Key:
        try:
            when, kind, item = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
            moment = datetime.fromisoformat(when)
            if moment.tzinfo is None:
                raise ValueError("no zone")
            return cls(moment, Kind(kind), str(item))
        except (binascii.Error, ValueError, TypeError) as exc:
            raise Invalid(f"'cursor': expected next_cursor of a previous page, found {cursor[:40]!r}") from exc


@dataclass(frozen=True, slots=True)
class Filters:
    since: datetime | None = None  # time >= since
    until: datetime | None = None  # time < until
    grids: frozenset[str] | None = None  # None: any grid; empty: none
    types: frozenset[str] = frozenset()  # empty: any
    statuses: frozenset[str] = frozenset()  # empty: any
    after: Key | None = None  # the previous page's last key
    limit: int = 100


@dataclass(frozen=True, slots=True)
class TipPlace:
    """Tips about these cameras, or positioned in this box (south, north, west, east), or whose typed address
    contains ``street``. ``filed_by``: only the tips this caller filed (a caller who may not work tips)."""

    camera_ids: frozenset[str] = frozenset()
    box: tuple[float, float, float, float] | None = None
    street: str | None = None
    filed_by: str | None = None


_EVENT_COLUMNS = [EventRow.__table__.c[f.name] for f in fields(StoredEvent)]
_TIP_COLUMNS = [TipRow.__table__.c[f.name] for f in fields(Tip)]


def _after(
    time: SQLColumnExpression[datetime], ident: SQLColumnExpression[str], kind: Kind, key: Key
) -> ColumnElement[bool]:
    """Rows of ``kind`` that come after ``key`` in (time, kind, id) order."""
    if kind > key.kind:
        return time >= key.time
    if kind < key.kind:
        return time > key.time
    return or_(time > key.time, and_(time == key.time, ident > key.id))


Query = Select[tuple[object, ...]]


def _in_window(stmt: Query, time: SQLColumnExpression[datetime], f: Filters) -> Query:
    if f.since is not None:
        stmt = stmt.where(time >= f.since)
    if f.until is not None:
        stmt = stmt.where(time < f.until)
    return stmt


def events_at(engine: Engine, camera_ids: frozenset[str], f: Filters) -> list[StoredEvent]:
    """Events of these cameras, oldest first (then by id), at most ``f.limit``."""
    if not camera_ids or f.grids == frozenset():
        return []
    with engine.connect() as conn:
        rows = conn.execute(events_query(camera_ids, f)).mappings()
        return [StoredEvent(**{c.name: r[c.name] for c in _EVENT_COLUMNS}) for r in rows]


def events_query(camera_ids: frozenset[str], f: Filters) -> Query:
    """The statement ``events_at`` runs (the benchmark asks the database for its plan)."""
    stmt = select(*_EVENT_COLUMNS).where(EventRow.camera_id.in_(sorted(camera_ids)))
    stmt = _in_window(stmt, EventRow.start, f)
    if f.grids is not None:
        stmt = stmt.where(EventRow.grid.in_(sorted(f.grids)))
    if f.types:
        stmt = stmt.where(EventRow.type.in_(sorted(f.types)))
    if f.statuses:
        stmt = stmt.where(EventRow.status.in_(sorted(f.statuses)))
    if f.after is not None:
        stmt = stmt.where(_after(EventRow.start, EventRow.id, Kind.EVENT, f.after))
    return stmt.order_by(EventRow.start, EventRow.id).limit(f.limit)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped.casefold()}%"


def tips_at(engine: Engine, place: TipPlace, f: Filters) -> list[Tip]:
    """Tips at the place (candidates: a position in the box may still lie outside a circle), oldest first by
    the time they were seen (then by id), at most ``f.limit``."""
    if f.grids == frozenset() and place.filed_by is None:
        return []
    where: list[ColumnElement[bool]] = []
    if place.camera_ids:
        where.append(TipRow.camera_id.in_(sorted(place.camera_ids)))
    if place.box is not None:
        south, north, west, east = place.box
        where.append(and_(TipRow.lat.between(south, north), TipRow.lon.between(west, east)))
    if place.street:
        where.append(func.lower(TipRow.address).like(_like(place.street), escape="\\"))
    stmt = select(*_TIP_COLUMNS).where(or_(false(), *where))
    stmt = _in_window(stmt, TipRow.seen_at, f)
    if place.filed_by is not None:
        stmt = stmt.where(TipRow.filed_by == place.filed_by)
    elif f.grids is not None:
        stmt = stmt.where(TipRow.grid.in_(sorted(f.grids)))
    if f.types:
        stmt = stmt.where(TipRow.type.in_(sorted(f.types)))
    if f.statuses:
        stmt = stmt.where(TipRow.status.in_(sorted(f.statuses)))
    if f.after is not None:
        stmt = stmt.where(_after(TipRow.seen_at, TipRow.id, Kind.TIP, f.after))
    stmt = stmt.order_by(TipRow.seen_at, TipRow.id).limit(f.limit)
    with engine.connect() as conn:
        return [Tip(**r) for r in conn.execute(stmt).mappings()]
