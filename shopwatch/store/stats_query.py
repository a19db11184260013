"""What a case-analysis count is asked for (a period, the station's zone, grids and types), and what the event
and the tip counts share: the two periods and the scope as SQL conditions, per-period sums, a table of every
hour or weekday, and the station's local hour and ISO weekday of a stored time as SQL.

PostgreSQL converts with the IANA zone itself; SQLite has no zones, so the zone's UTC offsets over the two
periods (sampled hourly, which catches every whole-hour change) become one CASE expression."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, literal
from sqlalchemy.orm import InstrumentedAttribute

Column = ColumnElement[Any] | InstrumentedAttribute[Any]


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


def scoped(q: StatsQuery, grid: Column, type_: Column) -> list[ColumnElement[bool]]:
    """``q``'s grids and types on these columns (none for every grid and type)."""
    where: list[ColumnElement[bool]] = []
    if q.grids is not None:
        where.append(grid.in_(sorted(q.grids)))
    if q.types:
        where.append(type_.in_(sorted(q.types)))
    return where


def in_periods(q: StatsQuery, moment: Column, grid: Column, type_: Column) -> list[ColumnElement[bool]]:
    """Rows whose ``moment`` falls in the period or the one before it, in ``q``'s grids and types."""
    return [moment >= q.previous_since, moment < q.until, *scoped(q, grid, type_)]


def split_sums(
    q: StatsQuery, moment: Column, conditions: Sequence[ColumnElement[bool] | None]
) -> tuple[list[ColumnElement[Any]], list[ColumnElement[Any]]]:
    """(the period's, the one before's) SUM of the rows meeting each of ``conditions`` (None: every row)."""

    def sums(in_period: ColumnElement[bool]) -> list[ColumnElement[Any]]:
        return [func.sum(case((in_period if c is None else and_(in_period, c), 1), else_=0)) for c in conditions]

    return sums(moment >= q.since), sums(moment < q.since)


class Keyed(Protocol):
    @property
    def key(self) -> Any: ...


K = TypeVar("K", bound=Keyed)


def every(found: Sequence[K], keys: range, blank: Callable[[int], K]) -> list[K]:
    """``found`` with a ``blank`` row for each of ``keys`` it lacks, in the order of ``keys`` (hours, weekdays)."""
    by_key = {row.key: row for row in found}
    return [by_key.get(k) or blank(k) for k in keys]


def offsets(zone: ZoneInfo, since: datetime, until: datetime) -> list[tuple[datetime, int]]:
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


def local_parts(
    dialect: str, q: StatsQuery, moment: InstrumentedAttribute[datetime]
) -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """(local hour 0..23, ISO weekday 1..7) of the time column ``moment``, as SQL."""
    if dialect == "postgresql":
        local = func.timezone(q.zone, moment)
        return cast(func.extract("hour", local), Integer), cast(func.extract("isodow", local), Integer)
    found = offsets(ZoneInfo(q.zone), q.previous_since, q.until)
    modifier: ColumnElement[Any] = literal(f"{found[-1][1]:+d} seconds")
    if len(found) > 1:
        ends = [at for at, _ in found[1:]]
        pairs = zip(ends, found, strict=False)
        whens = [(moment < end, f"{seconds:+d} seconds") for end, (_, seconds) in pairs]
        modifier = case(*whens, else_=f"{found[-1][1]:+d} seconds")
    hour = cast(func.strftime("%H", moment, modifier), Integer)
    sunday_first = cast(func.strftime("%w", moment, modifier), Integer)
    return hour, (sunday_first + 6) % 7 + 1
