"""Distinct incidents in the case-analysis numbers, counted from the events that belong to one.

Distinct counts do not add up across days or hours (an incident whose events straddle midnight is one incident
that day pair, not two), so no summary table holds them: they are counted from the linked events of the two
periods, read from the partial index ``ix_events_linked`` (only events in an incident; migration 0014). On
PostgreSQL one query groups them by GROUPING SETS over grid, type, local hour, local weekday and the total, each
set also split by incident id, so the outer query counts each incident once per group without a
``COUNT(DISTINCT)`` sort; SQLite has no GROUPING SETS and takes one ``COUNT(DISTINCT)`` per set."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, case, distinct, func, select, tuple_

from shopwatch.store.incident_tables import EventRow
from shopwatch.store.stats_query import StatsQuery

# (name, columns): the groups incidents are counted in
SETS: dict[str, tuple[str, ...]] = {"grid": ("grid",), "type": ("type",), "hour": ("hour",), "weekday": ("weekday",)}
SETS["total"] = ()
KEYS = ("grid", "type", "hour", "weekday")  # GROUPING() argument order: first is the high bit

Found = dict[str, dict[Any, list[int]]]  # set name -> key -> [incidents in the period, in the one before]


def _mask(columns: tuple[str, ...]) -> int:
    return sum(1 << (len(KEYS) - 1 - i) for i, key in enumerate(KEYS) if key not in columns)


def _key(name: str, row: Any) -> Any:
    return "all" if name == "total" else row[name]  # a row mapping, or a dict by column name


def incident_counts(
    conn: Connection, q: StatsQuery, where: list[ColumnElement[bool]], hour: ColumnElement[Any],
    weekday: ColumnElement[Any],
) -> Found:  # fmt: skip
    """Distinct incidents per set and key among the events matching ``where`` (the two periods, the filters)."""
    current = EventRow.start >= q.since
    linked = select(
        EventRow.grid, EventRow.type, hour.label("hour"), weekday.label("weekday"), current.label("current"),
        EventRow.incident_id,
    ).where(*where, EventRow.incident_id.is_not(None))  # fmt: skip
    found: Found = {name: {} for name in SETS}
    if conn.dialect.name == "postgresql":
        e = linked.subquery("l").c
        keys = [e[k] for k in KEYS]
        sets = [tuple_(*(e[k] for k in cols), e.current, e.incident_id) for cols in SETS.values()]
        per_incident = (
            select(func.grouping(*keys).label("g"), *keys, e.current, e.incident_id)
            .group_by(func.grouping_sets(*sets))
            .subquery("i")
        )
        i = per_incident.c
        outer = [i.g, *(i[k] for k in KEYS), i.current]
        names = {_mask(cols): name for name, cols in SETS.items()}
        for row in conn.execute(select(*outer, func.count().label("n")).group_by(*outer)).mappings():
            name = names[row["g"]]
            found[name].setdefault(_key(name, row), [0, 0])[0 if row["current"] else 1] += int(row["n"])
        return found
    e = linked.subquery("l").c
    counts = [func.count(distinct(case((e.current == flag, e.incident_id)))) for flag in (True, False)]
    for name, cols in SETS.items():
        stmt = select(*(e[k] for k in cols), *counts).group_by(*(e[k] for k in cols))
        for values in conn.execute(stmt):
            found[name][_key(name, dict(zip(cols, values, strict=False)))] = [int(values[-2]), int(values[-1])]
    return found
