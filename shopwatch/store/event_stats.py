"""Case-analysis numbers over stored events, counted by the database (GROUP BY), never row by row in Python.

Every count is taken for a period and for the period of the same length just before it, in one query per
dimension (grid, type, local hour of day, local day of week), so the change is exact and the work scales
with the number of groups, not of events. "Confirmed" means an operator acted on the event as real
(dispatched or resolved); "false positive" is the operator's verdict that it was not.

Hours and days are the station's local ones: PostgreSQL converts with the IANA zone itself; SQLite has no
zones, so the zone's UTC offsets over the two periods (sampled hourly, which catches every whole-hour change)
become one CASE expression."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Engine, Integer, and_, case, cast, distinct, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute

from shopwatch.store.incident_tables import EventRow

CONFIRMED = ("dispatched", "resolved")
FALSE_POSITIVE = "false_positive"
CARD_POSTING = "card_posting"
HOT_SPOT_MIN = 2  # card postings in the period that make a hot spot
HOT_SPOTS_MAX = 50


@dataclass(frozen=True, slots=True)
class StatsQuery:
    since: datetime  # start >= since
    until: datetime  # start < until; the previous period is [since - (until - since), since)
    zone: str  # IANA zone of the station, for hours and days
    grids: frozenset[str] | None = None  # None: every grid; empty: none
    types: frozenset[str] = frozenset()

    @property
    def previous_since(self) -> datetime:
        return self.since - (self.until - self.since)


@dataclass(frozen=True, slots=True)
class Counts:
    events: int = 0
    confirmed: int = 0
    false_positives: int = 0
    incidents: int = 0


@dataclass(frozen=True, slots=True)
class Compared:
    key: str | int
    current: Counts
    previous: Counts


@dataclass(frozen=True, slots=True)
class HotSpot:
    camera_id: str
    grid: str
    zone: str
    card_postings: int


@dataclass(frozen=True, slots=True)
class CameraVerdicts:
    camera_id: str
    grid: str
    events: int
    confirmed: int
    false_positives: int


@dataclass(frozen=True, slots=True)
class EventStats:
    total: Compared
    by_grid: list[Compared]
    by_type: list[Compared]
    by_hour: list[Compared]  # 0..23, every hour present
    by_weekday: list[Compared]  # 1 (Monday) .. 7 (Sunday), every day present
    hot_spots: list[HotSpot]
    cameras: list[CameraVerdicts]


def _offsets(zone: ZoneInfo, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
    """(from when, UTC offset in seconds) for every offset the zone has between ``since`` and ``until``."""
    at = since.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    found: list[tuple[datetime, int]] = []
    while at <= until:
        offset = at.astimezone(zone).utcoffset()
        seconds = int(offset.total_seconds()) if offset is not None else 0
        if not found or found[-1][1] != seconds:
            found.append((at, seconds))
        at += timedelta(hours=1)
    return found


def _local_parts(dialect: str, q: StatsQuery) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """(local hour 0..23, ISO weekday 1..7) of an event's start, as SQL."""
    if dialect == "postgresql":
        local = func.timezone(q.zone, EventRow.start)
        return cast(func.extract("hour", local), Integer), cast(func.extract("isodow", local), Integer)
    offsets = _offsets(ZoneInfo(q.zone), q.previous_since, q.until)
    modifier: ColumnElement[Any] = literal(f"{offsets[-1][1]:+d} seconds")
    if len(offsets) > 1:
        ends = [at for at, _ in offsets[1:]]
        pairs = zip(ends, offsets, strict=False)
        whens = [(EventRow.start < end, f"{seconds:+d} seconds") for end, (_, seconds) in pairs]
        modifier = case(*whens, else_=f"{offsets[-1][1]:+d} seconds")
    hour = cast(func.strftime("%H", EventRow.start, modifier), Integer)
    sunday_first = cast(func.strftime("%w", EventRow.start, modifier), Integer)
    return hour, (sunday_first + 6) % 7 + 1


def _where(q: StatsQuery) -> list[ColumnElement[bool]]:
    where = [EventRow.start >= q.previous_since, EventRow.start < q.until]
    if q.grids is not None:
        where.append(EventRow.grid.in_(sorted(q.grids)))
    if q.types:
        where.append(EventRow.type.in_(sorted(q.types)))
    return where


def _count_columns(q: StatsQuery) -> list[ColumnElement[Any]]:
    columns: list[ColumnElement[Any]] = []
    for in_period in (EventRow.start >= q.since, EventRow.start < q.since):
        columns += [
            func.sum(case((in_period, 1), else_=0)),
            func.sum(case((and_(in_period, EventRow.status.in_(CONFIRMED)), 1), else_=0)),
            func.sum(case((and_(in_period, EventRow.status == FALSE_POSITIVE), 1), else_=0)),
            func.count(distinct(case((in_period, EventRow.incident_id)))),
        ]
    return columns


def _compared(key: str | int, row: Sequence[Any]) -> Compared:
    numbers = [int(n or 0) for n in row]
    return Compared(key, Counts(*numbers[0:4]), Counts(*numbers[4:8]))


def _grouped(conn: Connection, q: StatsQuery, key: ColumnElement[Any] | InstrumentedAttribute[str]) -> list[Compared]:
    stmt = select(key, *_count_columns(q)).where(*_where(q)).group_by(key).order_by(key)
    return [_compared(row[0], row[1:]) for row in conn.execute(stmt)]


def _every(found: list[Compared], keys: range) -> list[Compared]:
    by_key = {c.key: c for c in found}
    return [by_key.get(k, Compared(k, Counts(), Counts())) for k in keys]


def event_stats(engine: Engine, q: StatsQuery) -> EventStats:
    hour, weekday = _local_parts(engine.dialect.name, q)
    current = EventRow.start >= q.since
    with engine.connect() as conn:
        total = _compared("all", conn.execute(select(*_count_columns(q)).where(*_where(q))).one())
        by_grid = _grouped(conn, q, EventRow.grid)
        by_type = _grouped(conn, q, EventRow.type)
        by_hour = _every(_grouped(conn, q, hour), range(24))
        by_weekday = _every(_grouped(conn, q, weekday), range(1, 8))
        postings = func.count()
        hot = conn.execute(
            select(EventRow.camera_id, EventRow.grid, EventRow.zone, postings)
            .where(*_where(q), current, EventRow.type == CARD_POSTING)
            .group_by(EventRow.camera_id, EventRow.grid, EventRow.zone)
            .having(postings >= HOT_SPOT_MIN)
            .order_by(postings.desc(), EventRow.camera_id, EventRow.zone)
            .limit(HOT_SPOTS_MAX)
        ).all()
        verdicts = conn.execute(
            select(
                EventRow.camera_id,
                EventRow.grid,
                func.count(),
                func.sum(case((EventRow.status.in_(CONFIRMED), 1), else_=0)),
                func.sum(case((EventRow.status == FALSE_POSITIVE, 1), else_=0)),
            )
            .where(*_where(q), current)
            .group_by(EventRow.camera_id, EventRow.grid)
            .order_by(EventRow.camera_id)
        ).all()
    return EventStats(
        total=total,
        by_grid=by_grid,
        by_type=by_type,
        by_hour=by_hour,
        by_weekday=by_weekday,
        hot_spots=[HotSpot(r[0], r[1], r[2], int(r[3])) for r in hot],
        cameras=[CameraVerdicts(r[0], r[1], int(r[2]), int(r[3] or 0), int(r[4] or 0)) for r in verdicts],
    )
