"""Tips in the case-analysis numbers: tips filed, confirmed (they became or joined an incident) and marked as
having led to a case, per grid, tip type, local hour and ISO weekday of when the tipster saw it (``seen_at``),
for a period and the period of the same length before it.

Tips are few (people file them, not cameras), so one GROUP BY per table on either database. A tip whose place
was not resolved has no grid: its ``by_grid`` key is None, and a caller scoped to grids never counts it. The
query's types filter applies to tip types too (``card_posting`` is both)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, select
from sqlalchemy.orm import InstrumentedAttribute

from shopwatch.core.tip_records import TipStatus
from shopwatch.store.stats_query import StatsQuery, every, in_periods, local_parts, split_sums
from shopwatch.store.tips import TipRow

TIP_CONFIRMED = (TipStatus.CONFIRMED.value, TipStatus.MERGED.value)


@dataclass(frozen=True, slots=True)
class TipCounts:
    filed: int = 0
    confirmed: int = 0  # confirmed or merged: the tip became, or joined, an incident
    led_to_case: int = 0  # an operator marked that it led to a case


@dataclass(frozen=True, slots=True)
class TipCompared:
    key: str | int | None  # None: the grid of a tip whose place was not resolved
    current: TipCounts
    previous: TipCounts


@dataclass(frozen=True, slots=True)
class TipStats:
    total: TipCompared
    by_grid: list[TipCompared]
    by_type: list[TipCompared]
    by_hour: list[TipCompared]  # 0..23, every hour present
    by_weekday: list[TipCompared]  # 1 (Monday) .. 7 (Sunday), every day present


def no_tips() -> TipStats:
    return TipStats(
        TipCompared("all", TipCounts(), TipCounts()),
        [],
        [],
        [TipCompared(h, TipCounts(), TipCounts()) for h in range(24)],
        [TipCompared(d, TipCounts(), TipCounts()) for d in range(1, 8)],
    )


def _where(q: StatsQuery) -> list[ColumnElement[bool]]:
    return in_periods(q, TipRow.seen_at, TipRow.grid, TipRow.type)


def _columns(q: StatsQuery) -> list[ColumnElement[Any]]:
    current, previous = split_sums(
        q, TipRow.seen_at, [None, TipRow.status.in_(TIP_CONFIRMED), TipRow.led_to_case.is_(True)]
    )
    return current + previous


def _compared(key: str | int | None, row: Sequence[Any]) -> TipCompared:
    numbers = [int(n or 0) for n in row]
    return TipCompared(key, TipCounts(*numbers[0:3]), TipCounts(*numbers[3:6]))


def _grouped(
    conn: Connection, q: StatsQuery, key: ColumnElement[Any] | InstrumentedAttribute[Any]
) -> list[TipCompared]:
    rows = conn.execute(select(key, *_columns(q)).where(*_where(q)).group_by(key)).all()
    found = [_compared(row[0], row[1:]) for row in rows]
    return sorted(found, key=lambda c: (c.key is None, c.key))


def _every(found: list[TipCompared], keys: range) -> list[TipCompared]:
    return every(found, keys, lambda k: TipCompared(k, TipCounts(), TipCounts()))


def tip_stats(conn: Connection, q: StatsQuery) -> TipStats:
    hour, weekday = local_parts(conn.dialect.name, q, TipRow.seen_at)
    return TipStats(
        total=_compared("all", conn.execute(select(*_columns(q)).where(*_where(q))).one()),
        by_grid=_grouped(conn, q, TipRow.grid),
        by_type=_grouped(conn, q, TipRow.type),
        by_hour=_every(_grouped(conn, q, hour), range(24)),
        by_weekday=_every(_grouped(conn, q, weekday), range(1, 8)),
    )
