"""Keeping the summary tables (store/stats_tables.py) equal to the events, inside the caller's transaction: a
stored event adds to its day and month rows, a deleted one subtracts, an operator's verdict moves its counts
between confirmed and false positive. Each change is one upsert per row touched (``INSERT ... ON CONFLICT DO
UPDATE SET n = n + excluded.n``, PostgreSQL and SQLite), the rows in one order so that two writers never wait on
each other in a circle. Linking an event to an incident changes nothing here (incidents are counted apart)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from typing import Any, Protocol

from sqlalchemy import Connection, Table, and_, bindparam, delete

from shopwatch.store.db import dialect_insert
from shopwatch.store.stats_tables import (
    DAY_COUNTS,
    DAY_KEYS,
    MONTH_KEYS,
    STATS_CAMERA_MONTHS,
    STATS_DAYS,
    TOTALS,
    verdict,
)

_DAY_AT = {name: n for n, name in enumerate(DAY_COUNTS)}


class Counted(Protocol):
    """What the numbers read of an event (a StoredEvent, or a row of its columns)."""

    @property
    def start(self) -> datetime: ...
    @property
    def grid(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def camera_id(self) -> str: ...
    @property
    def zone(self) -> str: ...
    @property
    def status(self) -> str: ...


def day_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def month_of(moment: datetime) -> datetime:
    return day_of(moment).replace(day=1)


Deltas = tuple[dict[tuple[Any, ...], list[int]], dict[tuple[Any, ...], list[int]]]  # day rows, month rows


def deltas(events: Iterable[Counted], sign: int = 1) -> Deltas:
    """What ``events`` add to (``sign`` 1) or take from (-1) the day and month rows, by row key."""
    days: dict[tuple[Any, ...], list[int]] = {}
    months: dict[tuple[Any, ...], list[int]] = {}
    for e in events:
        confirmed, false_positive = verdict(e.status)
        numbers = (sign, sign * confirmed, sign * false_positive)
        day = days.setdefault((day_of(e.start), e.grid, e.type), [0] * len(DAY_COUNTS))
        hour = e.start.astimezone(UTC).hour
        for n, kind in enumerate("ecf"):
            day[n] += numbers[n]
            day[_DAY_AT[f"{kind}{hour:02d}"]] += numbers[n]
        month = months.setdefault((month_of(e.start), e.camera_id, e.grid, e.zone, e.type), [0, 0, 0])
        for n in range(3):
            month[n] += numbers[n]
    return days, months


def add_counts(
    conn: Connection, table: Table, keys: tuple[str, ...], counts: tuple[str, ...], rows: dict[Any, list[int]]
) -> None:
    changed = [(k, v) for k, v in sorted(rows.items()) if any(v)]
    if not changed:
        return
    conn.execute(_upsert(conn.dialect.name, table, keys, counts), [
        dict(zip(keys + counts, key + tuple(v), strict=True)) for key, v in changed
    ])  # fmt: skip


@cache
def _upsert(dialect: str, table: Table, keys: tuple[str, ...], counts: tuple[str, ...]) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE SET n = n + excluded.n`` for each of ``counts`` (built once: a
    day row has 75 counts)."""
    insert = dialect_insert(dialect, table)
    return insert.on_conflict_do_update(
        index_elements=list(keys), set_={name: table.c[name] + insert.excluded[name] for name in counts}
    )


def drop_empty(
    conn: Connection, table: Table, keys: tuple[str, ...], rows: Iterable[tuple[Any, ...]], count: str = "events"
) -> None:
    """Delete those of ``rows`` (keys) whose ``count`` is 0."""
    where = and_(*(table.c[k] == bindparam(f"k_{k}") for k in keys), table.c[count] == 0)
    params = [{f"k_{k}": v for k, v in zip(keys, key, strict=True)} for key in sorted(rows)]
    if params:
        conn.execute(delete(table).where(where), params)


def apply(conn: Connection, change: Deltas) -> None:
    days, months = change
    add_counts(conn, STATS_DAYS, DAY_KEYS, DAY_COUNTS, days)
    add_counts(conn, STATS_CAMERA_MONTHS, MONTH_KEYS, TOTALS, months)
    if any(v[0] < 0 for v in days.values()):  # events went away: rows left at 0 go too
        drop_empty(conn, STATS_DAYS, DAY_KEYS, [k for k, v in days.items() if v[0] < 0])
        drop_empty(conn, STATS_CAMERA_MONTHS, MONTH_KEYS, [k for k, v in months.items() if v[0] < 0])


def count_events(conn: Connection, events: Iterable[Counted]) -> None:
    """Newly stored ``events`` (not duplicates) join the counts."""
    apply(conn, deltas(events))


def uncount_events(conn: Connection, events: Iterable[Counted]) -> None:
    """Deleted ``events`` leave the counts."""
    apply(conn, deltas(events, -1))


def recount_verdict(conn: Connection, event: Counted, old_status: str) -> None:
    """``event`` (now in its new status) was in ``old_status``: its confirmed/false positive counts move."""
    if verdict(old_status) == verdict(event.status):
        return
    days, months = deltas([event])
    old_days, old_months = deltas([_As(event, old_status)], -1)
    for mine, theirs in ((days, old_days), (months, old_months)):
        for key, numbers in theirs.items():
            mine[key] = [a + b for a, b in zip(mine[key], numbers, strict=True)]  # events: +1 - 1 = 0
    apply(conn, (days, months))


class _As:
    """``event`` as it was in ``status``."""

    def __init__(self, event: Counted, status: str) -> None:
        self.start, self.grid, self.type = event.start, event.grid, event.type
        self.camera_id, self.zone, self.status = event.camera_id, event.zone, status
