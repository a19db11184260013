"""What a case-analysis count is asked for (a period, the station's zone, grids and types), and the station's
local hour and ISO weekday of a stored time as SQL, shared by the event and the tip counts.

PostgreSQL converts with the IANA zone itself; SQLite has no zones, so the zone's UTC offsets over the two
periods (sampled hourly, which catches every whole-hour change) become one CASE expression."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Integer, case, cast, func, literal
from sqlalchemy.orm import InstrumentedAttribute


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
