"""The case-analysis summary tables stay equal to the events, and the numbers read from them (with the events at
the edges) equal the numbers counted from the events alone, on SQLite and PostgreSQL: after inserts (one by one
and in batches), duplicates the once-only insert refused, operators' verdicts, incidents linked later and
retention purges; for random events, periods, station zones (with and without DST, and zones whose offsets are
not whole hours), grid and type filters; and after migrations 0014 and 0015 filled the tables from events stored
before them."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from shopwatch.core.incident_records import Incident, NewEvent, Transition
from shopwatch.store.db import alembic_config, create_engine_for
from shopwatch.store.event_stats import StatsQuery, event_stats, raw_event_stats
from shopwatch.store.events import EventRepository
from shopwatch.store.incident_tables import DeliveryRow, EventRow, FeedRow, IncidentRow, TransitionRow
from shopwatch.store.stats_incident_upkeep import _contributions
from shopwatch.store.stats_tables import (
    DAY_COUNTS,
    DAY_KEYS,
    MONTH_KEYS,
    STATS_CAMERA_MONTHS,
    STATS_DAYS,
    STATS_INCIDENT_DAYS,
    STATS_SPLIT_INCIDENTS,
    TOTALS,
)
from shopwatch.store.stats_upkeep import deltas
from tests.store.test_events import make_event

BASE = datetime(2026, 1, 20, tzinfo=UTC)  # the periods cross month ends and March's DST changes
SPAN_S = 100 * 86400
STATUSES = ("new", "acknowledged", "dispatched", "resolved", "false_positive")
ZONES = ("Asia/Shanghai", "UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe")

events_st = st.lists(
    st.tuples(
        st.integers(0, SPAN_S - 1),  # start, seconds after BASE
        st.sampled_from(("cam-a", "cam-b", "cam-c", "cam-d")),
        st.sampled_from(("north", "south")),
        st.sampled_from(("card_posting", "loitering", "intrusion")),
        st.sampled_from(("wall", "door")),
        st.sampled_from(STATUSES),
        st.sampled_from((None, None, "I1", "I2", "I3")),
    ),
    max_size=40,
)
queries_st = st.lists(
    st.tuples(
        st.integers(0, SPAN_S),  # since, seconds after BASE
        st.integers(1, 70 * 86400),  # length in seconds
        st.sampled_from(ZONES),
        st.sampled_from((None, frozenset({"north"}), frozenset())),
        st.sampled_from((frozenset(), frozenset({"card_posting"}), frozenset({"loitering", "intrusion"}))),
    ),
    min_size=1,
    max_size=4,
)
changes_st = st.lists(st.tuples(st.integers(0, 39), st.sampled_from(STATUSES)), max_size=8)
purges_st = st.lists(st.integers(0, 39), max_size=6)


def _clear(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in (TransitionRow, FeedRow, DeliveryRow, EventRow, IncidentRow):
            conn.execute(delete(table))
        for summary in (STATS_DAYS, STATS_CAMERA_MONTHS, STATS_INCIDENT_DAYS, STATS_SPLIT_INCIDENTS):
            conn.execute(delete(summary))


def _events(rows: list[tuple[Any, ...]]) -> list[NewEvent]:
    items = []
    for n, (at, camera, grid, type_, zone, status, incident) in enumerate(rows):
        start = BASE + timedelta(seconds=at, microseconds=n)
        event = replace(make_event(n, camera=camera, grid=grid, type_=type_), start=start, zone=zone, status=status)
        linked = None if incident is None else Incident(incident, type_, start, start, {"events": []})
        items.append(NewEvent(replace(event, incident_id=incident), [], linked))
    return items


Summary = tuple[dict[Any, list[int]], dict[Any, list[int]], dict[Any, list[int]], set[str]]


def _tables(engine: Engine) -> Summary:
    with engine.connect() as conn:
        days = {tuple(r[:3]): list(r[3:]) for r in conn.execute(select(STATS_DAYS.c[*DAY_KEYS, *DAY_COUNTS]))}
        months = {tuple(r[:5]): list(r[5:]) for r in conn.execute(select(STATS_CAMERA_MONTHS.c[*MONTH_KEYS, *TOTALS]))}
        incidents = {tuple(r[:3]): [r[3]] for r in conn.execute(select(STATS_INCIDENT_DAYS))}
        split = set(conn.execute(select(STATS_SPLIT_INCIDENTS.c.incident_id)).scalars())
    return days, months, incidents, split


def _recounted(engine: Engine) -> Summary:
    """The summary tables' rows counted again from every stored event."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(EventRow.start, EventRow.grid, EventRow.type, EventRow.camera_id, EventRow.zone, EventRow.status)
        ).all()
        linked = select(EventRow.incident_id).where(EventRow.incident_id.is_not(None)).distinct()
        incidents, split = _contributions(conn, sorted(conn.execute(linked).scalars()), 1)
    days, months = deltas(rows)
    return {k: v for k, v in days.items() if v[0]}, {k: v for k, v in months.items() if v[0]}, incidents, set(split)


def _same_answers(engine: Engine, queries: list[tuple[Any, ...]]) -> None:
    for since_s, length_s, zone, grids, types in queries:
        since = BASE + timedelta(seconds=since_s)
        q = StatsQuery(since, since + timedelta(seconds=length_s), zone, grids, types)
        assert event_stats(engine, q) == raw_event_stats(engine, q), q


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=events_st, changes=changes_st, purges=purges_st, queries=queries_st, batch=st.booleans())
def test_the_summary_equals_the_events_after_every_kind_of_change(
    engine: Engine, rows: list[Any], changes: list[Any], purges: list[int], queries: list[Any], batch: bool
) -> None:
    _clear(engine)
    repository = EventRepository(engine)
    items = _events(rows)
    if batch:
        repository.add_many(items)
    else:
        for item in items:
            repository.add(item.event, [], item.incident)
    again = [replace(i, event=replace(i.event, id=f"again-{i.event.id}", start=i.event.start + timedelta(seconds=1)))
             for i in items[:5]]  # fmt: skip
    assert len(repository.add_many(again).duplicates) == len(again)  # the once-only insert refuses them all
    assert _tables(engine) == _recounted(engine)
    _same_answers(engine, queries)
    at = BASE + timedelta(days=200)
    for n, status in changes:  # operators' verdicts (from whatever status it is in now)
        if n < len(items) and (now := repository.get(items[n].event.id)) is not None:
            repository.set_status(Transition(now.id, now.status, status, "op", at, ""))
    if items:  # an incident linked later (a tip confirmed into one): the events join it
        later = Incident("I9", "card_posting", at, at, {"events": [i.event.id for i in items[::3]]})
        repository.add(replace(make_event(99), id="late", start=BASE - timedelta(days=9)), [], later)
    repository.delete([items[n].event.id for n in purges if n < len(items)])
    assert _tables(engine) == _recounted(engine)
    _same_answers(engine, queries)


def test_whole_months_and_days_with_edges_on_each_side(engine: Engine) -> None:
    """A period of whole months inside, partial days at each end: every part of the reading is used."""
    repository = EventRepository(engine)
    rows = [(h * 3600 * 7 + 61, c, g, t, "wall", s, None) for h, (c, g, t, s) in enumerate(
        [("cam-a", "north", "card_posting", "resolved"), ("cam-b", "south", "loitering", "false_positive"),
         ("cam-a", "north", "card_posting", "new"), ("cam-c", "south", "card_posting", "dispatched")] * 70
    )]  # fmt: skip
    repository.add_many(_events(rows))
    for zone in ("Asia/Shanghai", "America/New_York"):
        q = StatsQuery(BASE + timedelta(days=3, hours=5), BASE + timedelta(days=78, hours=13), zone)
        counted = event_stats(engine, q)
        assert counted == raw_event_stats(engine, q)
        assert counted.total.current.events > 0 and counted.total.previous.events > 0
        assert counted.hot_spots and counted.cameras


@pytest.fixture
def sqlite_or_pg_url(db_url: str) -> str:
    return db_url


def test_migrations_0014_and_0015_fill_the_summary_from_the_stored_events(sqlite_or_pg_url: str) -> None:
    engine = create_engine_for(sqlite_or_pg_url)
    try:
        cfg = alembic_config()
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        repository = EventRepository(engine)
        rows = [(n * 40_000 + 7, ("cam-a", "cam-b")[n % 2], ("north", "south")[n % 3 % 2],
                 ("card_posting", "intrusion")[n % 5 % 2], "wall", STATUSES[n % 5],
                 None if n % 3 == 0 else f"I{n // 2}") for n in range(200)]  # fmt: skip
        repository.add_many(_events(rows))
        expected = _tables(engine)
        assert expected == _recounted(engine) and all(expected)  # incidents of one day, and of two
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0013")  # the tables go; the events stay
            command.upgrade(cfg, "head")  # and come back, filled from them
        assert _tables(engine) == expected
        q = StatsQuery(BASE + timedelta(days=20, hours=3), BASE + timedelta(days=75), "Asia/Shanghai")
        assert event_stats(engine, q) == raw_event_stats(engine, q)
    finally:
        engine.dispose()


def test_two_writers_adding_to_one_incident_at_once_keep_it_counted_once(engine: Engine) -> None:
    """Events of one incident stored by two writers at the same moment (two shards): both are stored (the
    incident's lock also queues the incident's upsert, which without it fails on the incident's primary key) and
    the incident summary equals a recount (the second writer counts the incident from the first's events too)."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer at a time")
    repository = EventRepository(engine)
    barrier = threading.Barrier(2, timeout=30)

    def write(camera: str) -> None:
        for n in range(12):
            start = BASE + timedelta(hours=n, minutes=7)
            event = replace(make_event(n, camera=camera), id=f"{camera}-{n}", start=start, incident_id=f"I{n}")
            barrier.wait()
            repository.add(event, [], Incident(f"I{n}", "card_posting", start, start, {"events": []}))

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(write, ["cam-a", "cam-b"]))
    assert _tables(engine) == _recounted(engine)
    q = StatsQuery(BASE, BASE + timedelta(days=3), "Asia/Shanghai")
    assert event_stats(engine, q).total.current.incidents == 12
