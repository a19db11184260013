"""Case-analysis numbers over stored events, counted by the database (GROUP BY), never row by row in Python.

``event_stats`` answers from the summary tables kept exact with every write (store/stats_rollup.py,
store/stats_tables.py), with the events read only at the period's edges; for a station zone whose offsets are
not whole hours, and to check the summary against, ``raw_event_stats`` counts everything from the events.

Every count is taken for a period and for the period of the same length just before it, so the change is exact.
In ``raw_event_stats`` on PostgreSQL one query scans the two periods once (GROUPING SETS over grid, type, local
hour, local weekday, camera and the total; see ``_one_pass``); SQLite has no GROUPING SETS and takes one query per
dimension. "Confirmed" means an operator acted on the event as real (dispatched or resolved); "false positive" is
the operator's verdict that it was not. Hours and days are the station's local ones (store/stats_query.py). The
tips seen in the same periods come along (store/tip_stats.py)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    case,
    distinct,
    func,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import InstrumentedAttribute

from shopwatch.store.incident_tables import EventRow
from shopwatch.store.stats_query import StatsQuery, in_periods, local_parts, split_sums
from shopwatch.store.stats_records import (
    CARD_POSTING,
    CONFIRMED,
    FALSE_POSITIVE,
    HOT_SPOT_MIN,
    HOT_SPOTS_MAX,
    CameraVerdicts,
    Compared,
    Counts,
    EventStats,
    HotSpot,
    compared,
    every,
    hot_spots,
)
from shopwatch.store.stats_rollup import rollup_stats, whole_hours
from shopwatch.store.tip_stats import tip_stats

__all__ = [
    "CameraVerdicts", "Compared", "Counts", "EventStats", "HotSpot", "StatsQuery", "event_stats", "raw_event_stats",
]  # fmt: skip

WORK_MEM = "64MB"  # for the one-pass query on PostgreSQL


def _where(q: StatsQuery) -> list[ColumnElement[bool]]:
    return in_periods(q, EventRow.start, EventRow.grid, EventRow.type)


def _count_columns(q: StatsQuery) -> list[ColumnElement[Any]]:
    """Events, confirmed, false positives, incidents of the period, then the same of the one before."""
    sums = split_sums(q, EventRow.start, [None, EventRow.status.in_(CONFIRMED), EventRow.status == FALSE_POSITIVE])
    incidents = [func.count(distinct(case((p, EventRow.incident_id)))) for p in (EventRow.start >= q.since,
                                                                                 EventRow.start < q.since)]  # fmt: skip
    return [*sums[0], incidents[0], *sums[1], incidents[1]]


def _grouped(conn: Connection, q: StatsQuery, key: ColumnElement[Any] | InstrumentedAttribute[str]) -> list[Compared]:
    stmt = select(key, *_count_columns(q)).where(*_where(q)).group_by(key).order_by(key)
    return [compared(row[0], row[1:]) for row in conn.execute(stmt)]


_KEYS = ("grid", "type", "hour", "weekday", "camera_id", "zone")  # GROUPING() argument order: first is the high bit
_SETS = {"grid": ("grid",), "type": ("type",), "hour": ("hour",), "weekday": ("weekday",), "total": ()}
_SETS["camera"] = ("camera_id", "grid", "zone")
_INCIDENT_KEYS = _KEYS[:4]  # cameras are not counted in incidents
_INCIDENT_SETS = {name: columns for name, columns in _SETS.items() if name != "camera"}


def _mask(columns: tuple[str, ...], keys: tuple[str, ...] = _KEYS) -> int:
    """What ``GROUPING(*keys)`` (by default grid, type, hour, weekday, camera_id, zone) is for a grouping set
    of ``columns``."""
    return sum(1 << (len(keys) - 1 - i) for i, key in enumerate(keys) if key not in columns)


def _one_pass(conn: Connection, q: StatsQuery, hour: ColumnElement[Any], weekday: ColumnElement[Any]) -> EventStats:
    """PostgreSQL: every number from two index-only scans of the two periods' events (``ix_events_stats``).

    The events become rows of plain columns (the local hour and weekday computed once); GROUPING SETS count
    them per grid, type, hour, weekday, camera (and zone) and overall, each set split by period. Incidents
    are counted apart over the events that belong to one only: grouped by incident id within each set, so
    the outer query counts each incident once per group (no DISTINCT sort)."""
    rows = select(
        EventRow.grid,
        EventRow.type,
        hour.label("hour"),
        weekday.label("weekday"),
        EventRow.camera_id,
        EventRow.zone,
        (EventRow.start >= q.since).label("current"),
        EventRow.incident_id,
        case((EventRow.status.in_(CONFIRMED), 1), else_=0).label("confirmed"),
        case((EventRow.status == FALSE_POSITIVE, 1), else_=0).label("false_positive"),
        case((EventRow.type == CARD_POSTING, 1), else_=0).label("card_posting"),
    ).where(*_where(q))
    e = rows.subquery("e").c
    keys = [e[k] for k in _KEYS]
    counts = select(
        func.grouping(*keys).label("g"),
        *keys,
        e.current,
        func.count(),
        func.sum(e.confirmed),
        func.sum(e.false_positive),
        func.sum(e.card_posting),
    ).group_by(func.grouping_sets(*(tuple_(*(e[k] for k in columns), e.current) for columns in _SETS.values())))
    linked = rows.where(EventRow.incident_id.is_not(None)).subquery("l").c
    linked_keys = [linked[k] for k in _INCIDENT_KEYS]
    sets = [tuple_(*(linked[k] for k in cols), linked.current, linked.incident_id) for cols in _INCIDENT_SETS.values()]
    per_incident = (
        select(func.grouping(*linked_keys).label("g"), *linked_keys, linked.current, linked.incident_id)
        .group_by(func.grouping_sets(*sets))
        .subquery("i")
    )
    i = per_incident.c
    outer = [i.g, *(i[k] for k in _INCIDENT_KEYS), i.current]
    incidents = select(*outer, func.count()).group_by(*outer)
    # the grouping sets hash in memory (a few MB even for a year) instead of sorting to disk; this transaction only
    conn.execute(text(f"SET LOCAL work_mem = '{WORK_MEM}'"))
    conn.execute(text("SET LOCAL jit = off"))  # compiling costs more than it saves at this size
    masks = {_mask(columns): name for name, columns in _SETS.items()}
    incident_masks = {_mask(columns, _INCIDENT_KEYS): _mask(columns) for columns in _INCIDENT_SETS.values()}
    found: dict[str, dict[Any, list[int]]] = {name: {} for name in _SETS}  # key -> current 4 numbers, previous 4
    postings: dict[tuple[str, str, str], int] = {}

    def numbers_of(g: int, grid: str, type_: str, hour_: int, weekday_: int, camera: str) -> list[int]:
        name = masks[g]
        key = {"grid": grid, "type": type_, "hour": hour_, "weekday": weekday_, "total": "all"}.get(name)
        return found[name].setdefault((camera, grid) if name == "camera" else key, [0] * 8)

    for row in conn.execute(counts):
        g, grid, type_, hour_, weekday_, camera, zone, current = row[:8]
        if masks[g] == "camera" and current and row[11]:
            postings[(camera, grid, zone)] = int(row[11])
        at = 0 if current else 4
        numbers = numbers_of(g, grid, type_, hour_, weekday_, camera)
        for n, value in enumerate(row[8:11]):  # events, confirmed, false positives
            numbers[at + n] += int(value or 0)
    for row in conn.execute(incidents):  # g, grid, type, hour, weekday, current, incidents
        numbers = numbers_of(incident_masks[row[0]], row[1], row[2], row[3], row[4], "")
        numbers[3 if row[5] else 7] += int(row[6])

    def table(name: str) -> list[Compared]:
        return [compared(k, v) for k, v in sorted(found[name].items())]

    return EventStats(
        total=(table("total") or [Compared("all", Counts(), Counts())])[0],
        by_grid=table("grid"),
        by_type=table("type"),
        by_hour=every(table("hour"), range(24)),
        by_weekday=every(table("weekday"), range(1, 8)),
        hot_spots=hot_spots(postings),
        cameras=[
            CameraVerdicts(camera, grid, *sums[:3])
            for (camera, grid), sums in sorted(found["camera"].items())
            if sums[0]
        ],
    )


def event_stats(engine: Engine, q: StatsQuery) -> EventStats:
    """The numbers for ``q``: from the summary tables and the edges (store/stats_rollup.py) when the station's
    zone has whole-hour offsets, else from the events (``raw_event_stats``)."""
    if not whole_hours(q):
        return raw_event_stats(engine, q)
    with engine.connect() as conn:
        return replace(rollup_stats(conn, q), tips=tip_stats(conn, q))


def raw_event_stats(engine: Engine, q: StatsQuery) -> EventStats:
    """The numbers for ``q`` counted from the events (what every answer was before the summary tables; kept for
    zones of other offsets and to check the summary against)."""
    hour, weekday = local_parts(engine.dialect.name, q, EventRow.start)
    current = EventRow.start >= q.since
    with engine.connect() as conn:
        tips = tip_stats(conn, q)
        if engine.dialect.name == "postgresql":
            return replace(_one_pass(conn, q, hour, weekday), tips=tips)
        total = compared("all", conn.execute(select(*_count_columns(q)).where(*_where(q))).one())
        by_grid = _grouped(conn, q, EventRow.grid)
        by_type = _grouped(conn, q, EventRow.type)
        by_hour = every(_grouped(conn, q, hour), range(24))
        by_weekday = every(_grouped(conn, q, weekday), range(1, 8))
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
        tips=tips,
    )
