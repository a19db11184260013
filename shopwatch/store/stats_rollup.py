"""Case-analysis numbers from the summary tables (store/stats_tables.py), exact: the whole UTC days of each
period from ``stats_days``, the whole UTC months of the period from ``stats_camera_months`` (hot spots and
per-camera precision), and the events themselves only for what is left at the edges (the partial days around
each period's start and end, the partial months of the period). Distinct incidents are counted from the linked
events (store/stats_incidents.py). The local hour and weekday of a day row's UTC hours are computed here, from
the station's zone; a zone with an offset that is not whole hours (Asia/Kolkata) is counted from the events
(store/event_stats.py)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Connection, Table, and_, case, false, func, literal, or_, select, union_all

from shopwatch.store.incident_tables import EventRow
from shopwatch.store.stats_incidents import Found, incident_counts
from shopwatch.store.stats_query import StatsQuery, in_periods, local_parts, offsets, scoped
from shopwatch.store.stats_records import (
    CARD_POSTING,
    CONFIRMED,
    FALSE_POSITIVE,
    CameraVerdicts,
    EventStats,
    compared,
    every,
    hot_spots,
)
from shopwatch.store.stats_tables import (
    HOURS,
    STATS_CAMERA_MONTHS,
    STATS_DAYS,
    STATS_INCIDENT_DAYS,
    STATS_SPLIT_INCIDENTS,
)
from shopwatch.store.stats_upkeep import day_of, month_of

Span = tuple[datetime, datetime]  # [from, to)
_SETS = ("total", "grid", "type", "hour", "weekday")


def whole_hours(q: StatsQuery) -> bool:
    """Whether every UTC offset of the station's zone over the two periods is a whole number of hours."""
    return all(seconds % 3600 == 0 for _, seconds in offsets(ZoneInfo(q.zone), q.previous_since, q.until))


def _next_month(month: datetime) -> datetime:
    return (month + timedelta(days=32)).replace(day=1)


def _whole(start: datetime, end: datetime, floor: Any, step: Any) -> Span | None:
    """The whole buckets (days or months) inside [start, end), or None."""
    first = floor(start)
    first = first if first == start else step(first)
    last = floor(end)
    return (first, last) if first < last else None


def _left(start: datetime, end: datetime, covered: list[Span]) -> list[Span]:
    """[start, end) less the ``covered`` spans (sorted, inside it)."""
    left: list[Span] = []
    at = start
    for lo, hi in covered:
        if at < lo:
            left.append((at, lo))
        at = hi
    if at < end:
        left.append((at, end))
    return left


def _during(column: Any, spans: list[Span]) -> ColumnElement[bool]:
    return or_(*(and_(column >= lo, column < hi) for lo, hi in spans)) if spans else false()


def _filters(q: StatsQuery, table: Table | type[EventRow]) -> list[ColumnElement[bool]]:
    if isinstance(table, Table):
        return scoped(q, table.c.grid, table.c.type)
    return scoped(q, EventRow.grid, EventRow.type)


def _verdicts() -> list[ColumnElement[Any]]:
    return [
        func.count().label("events"),
        func.sum(case((EventRow.status.in_(CONFIRMED), 1), else_=0)).label("confirmed"),
        func.sum(case((EventRow.status == FALSE_POSITIVE, 1), else_=0)).label("false_positives"),
    ]


def rollup_stats(conn: Connection, q: StatsQuery) -> EventStats:
    """Every number but the tips, as ``event_stats`` counts them from the events (the station's zone must be
    ``whole_hours``)."""
    zone = ZoneInfo(q.zone)
    d = STATS_DAYS.c
    periods = ((q.previous_since, q.since), (q.since, q.until))
    days = [s for s in (_whole(start, end, day_of, _next_day) for start, end in periods) if s]
    edges = _left(q.previous_since, q.until, days)
    found: dict[str, dict[Any, list[int]]] = {name: {} for name in _SETS}

    def add(name: str, key: Any, current: bool, numbers: Any) -> None:
        at = 0 if current else 4
        row = found[name].setdefault(key, [0] * 8)
        for n, value in enumerate(numbers):
            row[at + n] += int(value or 0)

    in_days = [_during(d.day, days), *_filters(q, STATS_DAYS)]
    current_day = d.day >= q.since
    totals = (func.sum(d.events), func.sum(d.confirmed), func.sum(d.false_positives))
    by_grid_type = select(d.grid, d.type, current_day.label("current"), *totals).where(*in_days)
    for grid, type_, current, *numbers in conn.execute(by_grid_type.group_by(d.grid, d.type, current_day)):
        add("total", "all", current, numbers)
        add("grid", grid, current, numbers)
        add("type", type_, current, numbers)
    hourly = [func.sum(d[f"{kind}{h:02d}"]) for kind in "ecf" for h in HOURS]
    for day, *numbers in conn.execute(select(d.day, *hourly).where(*in_days).group_by(d.day)):
        current = day >= q.since
        for h in HOURS:
            counts = (numbers[h], numbers[24 + h], numbers[48 + h])
            if any(counts):
                local = (day + timedelta(hours=h)).astimezone(zone)
                add("hour", local.hour, current, counts)
                add("weekday", local.isoweekday(), current, counts)
    hour, weekday = local_parts(conn.dialect.name, q, EventRow.start)
    current_event = EventRow.start >= q.since
    keys = (EventRow.grid, EventRow.type, hour, weekday, current_event)
    edge = select(*keys, *_verdicts()).where(_during(EventRow.start, edges), *_filters(q, EventRow)).group_by(*keys)
    for grid, type_, hour_, weekday_, current, *numbers in conn.execute(edge):
        for name, key in (("total", "all"), ("grid", grid), ("type", type_), ("hour", hour_), ("weekday", weekday_)):
            add(name, key, current, numbers)
    for name, by_key in _incidents(conn, q, days, edges, (hour, weekday)).items():
        for key, (now, before) in by_key.items():
            row = found[name].setdefault(key, [0] * 8)
            row[3] += now
            row[7] += before

    def table(name: str) -> list[Any]:
        return [compared(k, v) for k, v in sorted(found[name].items())]

    verdicts, postings = _cameras(conn, q)
    return EventStats(
        total=compared("all", found["total"].get("all", [0] * 8)),
        by_grid=table("grid"),
        by_type=table("type"),
        by_hour=every(table("hour"), range(24)),
        by_weekday=every(table("weekday"), range(1, 8)),
        hot_spots=hot_spots(postings),
        cameras=verdicts,
    )


def _incidents(
    conn: Connection, q: StatsQuery, days: list[Span], edges: list[Span], local: tuple[ColumnElement[Any], ...]
) -> Found:
    """Distinct incidents per set and key. Without grid or type filters: those whose events all fall on one whole
    day of a period from ``stats_incident_days``, and the rest (on an edge day, or on two days or more) from their
    events in the periods; each incident is in exactly one of the two. With filters, all from the events."""
    where = in_periods(q, EventRow.start, EventRow.grid, EventRow.type)
    if q.grids is not None or q.types:  # the summary counts an incident's every grid and type
        return incident_counts(conn, q, where, *local)
    split = select(STATS_SPLIT_INCIDENTS.c.incident_id)
    rest = or_(_during(EventRow.start, edges), EventRow.incident_id.in_(split))
    found = incident_counts(conn, q, [*where, rest], *local)

    def add(name: str, key: Any, current: bool, n: int) -> None:
        found[name].setdefault(key, [0, 0])[0 if current else 1] += n

    i = STATS_INCIDENT_DAYS.c
    covered, current = _during(i.day, days), i.day >= q.since
    sets = select(i.set, i.key, current.label("current"), func.sum(i.incidents)).where(covered, i.set != "hours")
    for name, key, now, n in conn.execute(sets.group_by(i.set, i.key, current)):
        add(name, "all" if name == "total" else key, now, int(n))
    zone = ZoneInfo(q.zone)
    for day, mask, n in conn.execute(select(i.day, i.key, i.incidents).where(covered, i.set == "hours")):
        times = [(day + timedelta(hours=h)).astimezone(zone) for h in HOURS if int(mask) >> h & 1]
        for hour in {t.hour for t in times}:
            add("hour", hour, day >= q.since, int(n))
        for weekday in {t.isoweekday() for t in times}:
            add("weekday", weekday, day >= q.since, int(n))
    return found


def _next_day(day: datetime) -> datetime:
    return day + timedelta(days=1)


def _cameras(conn: Connection, q: StatsQuery) -> tuple[list[CameraVerdicts], dict[tuple[str, str, str], int]]:
    """Per-camera verdicts and card postings per camera zone in the period: its whole months from
    ``stats_camera_months``, the rest from the events, added up by the database."""
    m = STATS_CAMERA_MONTHS.c
    whole = _whole(q.since, q.until, month_of, _next_month)
    months = [whole] if whole else []
    rows = select(m.camera_id, m.grid, m.zone, m.type, m.events, m.confirmed, m.false_positives).where(
        _during(m.month, months), *_filters(q, STATS_CAMERA_MONTHS)
    )
    edge = select(
        EventRow.camera_id, EventRow.grid, EventRow.zone, EventRow.type, literal(1).label("events"),
        case((EventRow.status.in_(CONFIRMED), 1), else_=0).label("confirmed"),
        case((EventRow.status == FALSE_POSITIVE, 1), else_=0).label("false_positives"),
    ).where(_during(EventRow.start, _left(q.since, q.until, months)), *_filters(q, EventRow))  # fmt: skip
    u = union_all(rows, edge).subquery("u").c
    keys = (u.camera_id, u.grid, u.zone)
    summed = select(
        *keys, func.sum(u.events), func.sum(u.confirmed), func.sum(u.false_positives),
        func.sum(case((u.type == CARD_POSTING, u.events), else_=0)),
    ).group_by(*keys)  # fmt: skip
    per_camera: dict[tuple[str, str], list[int]] = {}
    postings: dict[tuple[str, str, str], int] = {}
    for camera, grid, zone, events, confirmed, false_positives, cards in conn.execute(summed):
        sums = per_camera.setdefault((camera, grid), [0, 0, 0])
        for n, value in enumerate((events, confirmed, false_positives)):
            sums[n] += int(value or 0)
        if cards:
            postings[(camera, grid, zone)] = int(cards)
    verdicts = [CameraVerdicts(c, g, *sums) for (c, g), sums in sorted(per_camera.items()) if sums[0]]
    return verdicts, postings
