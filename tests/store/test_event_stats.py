"""Case-analysis counts against the hand-counted fixture (tests/store/stats_fixture.py), on SQLite and
PostgreSQL: totals, per grid, type, local hour and local weekday for the week and the week before, hot spots
and per-camera verdicts; the tips of those weeks counted the same way; scoped to grids and types; an operator's
verdict given after the numbers were first counted shows in the next count; on PostgreSQL the counting query is
answerable from the case-analysis index alone (an index-only scan) and the events table vacuums early."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from shopwatch.core.incident_records import Transition
from shopwatch.store.event_stats import CameraVerdicts, Compared, Counts, HotSpot, StatsQuery, raw_event_stats
from shopwatch.store.events import EventRepository
from shopwatch.store.tip_stats import TipCounts
from shopwatch.store.tips import TipRepository
from tests.store.stats_fixture import SINCE, UNTIL, store_fixture, store_tips


def _query(**more: object) -> StatsQuery:
    return StatsQuery(since=SINCE, until=UNTIL, zone="Asia/Shanghai", **more)  # type: ignore[arg-type]


def _table(rows: list) -> dict:  # type: ignore[type-arg]
    return {r.key: (r.current, r.previous) for r in rows}


def test_counts_match_the_hand_counted_week(engine: Engine) -> None:
    events = EventRepository(engine)
    store_fixture(events)
    stats = events.stats(_query())
    assert (stats.total.current, stats.total.previous) == (Counts(8, 3, 2, 2), Counts(3, 1, 1, 1))
    assert _table(stats.by_grid) == {
        "north": (Counts(5, 3, 1, 1), Counts(1, 1, 0, 0)),
        "south": (Counts(3, 0, 1, 1), Counts(2, 0, 1, 1)),
    }
    assert _table(stats.by_type) == {
        "card_posting": (Counts(6, 2, 2, 1), Counts(2, 1, 1, 0)),
        "intrusion": (Counts(1, 0, 0, 1), Counts(1, 0, 0, 1)),
        "loitering": (Counts(1, 1, 0, 0), Counts()),
    }
    hours = _table(stats.by_hour)
    assert list(hours) == list(range(24))
    assert {h: v for h, v in hours.items() if v != (Counts(), Counts())} == {
        0: (Counts(), Counts(1, 0, 0, 1)),
        2: (Counts(1, 0, 0, 0), Counts()),
        3: (Counts(1, 0, 0, 1), Counts()),
        7: (Counts(1, 0, 0, 0), Counts()),  # 23:59 UTC: the station's morning
        8: (Counts(), Counts(1, 0, 1, 0)),
        14: (Counts(1, 1, 0, 0), Counts()),
        22: (Counts(2, 2, 0, 1), Counts(1, 1, 0, 0)),
        23: (Counts(2, 0, 2, 0), Counts()),
    }
    assert _table(stats.by_weekday) == {
        1: (Counts(2, 2, 0, 1), Counts(1, 0, 0, 1)),
        2: (Counts(), Counts(1, 1, 0, 0)),
        3: (Counts(2, 0, 1, 0), Counts()),
        4: (Counts(), Counts()),
        5: (Counts(1, 1, 0, 0), Counts()),
        6: (Counts(1, 0, 0, 0), Counts(1, 0, 1, 0)),  # Saturday in the station, Friday in UTC
        7: (Counts(2, 0, 1, 1), Counts()),
    }
    assert stats.hot_spots == [HotSpot("cam-a", "north", "wall", 3), HotSpot("cam-c", "south", "wall", 2)]
    assert stats.cameras == [
        CameraVerdicts("cam-a", "north", 4, 2, 1),
        CameraVerdicts("cam-b", "north", 1, 1, 0),
        CameraVerdicts("cam-c", "south", 2, 0, 1),
        CameraVerdicts("cam-d", "south", 1, 0, 0),
    ]


def test_grid_and_type_scoping(engine: Engine) -> None:
    events = EventRepository(engine)
    store_fixture(events)
    south = events.stats(_query(grids=frozenset({"south"})))
    assert [r.key for r in south.by_grid] == ["south"]
    assert (south.total.current, south.total.previous) == (Counts(3, 0, 1, 1), Counts(2, 0, 1, 1))
    assert [c.camera_id for c in south.cameras] == ["cam-c", "cam-d"]
    nothing = events.stats(_query(grids=frozenset()))
    assert nothing.total.current == Counts() and nothing.by_grid == [] and nothing.hot_spots == []
    cards = events.stats(_query(types=frozenset({"card_posting"})))
    assert (cards.total.current, cards.total.previous) == (Counts(6, 2, 2, 1), Counts(2, 1, 1, 0))


def test_tips_match_the_hand_counted_week(engine: Engine) -> None:
    events = EventRepository(engine)
    store_tips(TipRepository(engine))
    tips = events.stats(_query()).tips
    assert (tips.total.current, tips.total.previous) == (TipCounts(4, 2, 1), TipCounts(2, 1, 1))
    assert _table(tips.by_grid) == {
        "north": (TipCounts(2, 2, 1), TipCounts(1, 1, 1)),
        "south": (TipCounts(1, 0, 0), TipCounts(1, 0, 0)),
        None: (TipCounts(1, 0, 0), TipCounts()),  # place unresolved
    }
    assert [r.key for r in tips.by_grid] == ["north", "south", None]
    assert _table(tips.by_type) == {
        "card_posting": (TipCounts(2, 2, 1), TipCounts(1, 1, 1)),
        "hazard": (TipCounts(), TipCounts(1, 0, 0)),
        "other": (TipCounts(1, 0, 0), TipCounts()),
        "suspicious_person": (TipCounts(1, 0, 0), TipCounts()),
    }
    hours = _table(tips.by_hour)
    assert list(hours) == list(range(24))
    assert {h: v for h, v in hours.items() if v != (TipCounts(), TipCounts())} == {
        7: (TipCounts(1, 0, 0), TipCounts()),  # 23:30 UTC: the station's morning
        9: (TipCounts(), TipCounts(1, 0, 0)),
        10: (TipCounts(1, 0, 0), TipCounts()),
        21: (TipCounts(1, 1, 0), TipCounts()),
        22: (TipCounts(1, 1, 1), TipCounts(1, 1, 1)),
    }
    assert _table(tips.by_weekday) == {
        1: (TipCounts(1, 1, 1), TipCounts()),
        2: (TipCounts(1, 1, 0), TipCounts(1, 1, 1)),
        3: (TipCounts(), TipCounts()),
        4: (TipCounts(1, 0, 0), TipCounts(1, 0, 0)),
        5: (TipCounts(), TipCounts()),
        6: (TipCounts(1, 0, 0), TipCounts()),  # Saturday in the station, Friday in UTC
        7: (TipCounts(), TipCounts()),
    }


def test_tips_scoped_to_grids_and_types(engine: Engine) -> None:
    events = EventRepository(engine)
    store_tips(TipRepository(engine))
    south = events.stats(_query(grids=frozenset({"south"}))).tips
    assert [r.key for r in south.by_grid] == ["south"]  # never the unresolved tip
    assert (south.total.current, south.total.previous) == (TipCounts(1, 0, 0), TipCounts(1, 0, 0))
    cards = events.stats(_query(types=frozenset({"card_posting"}))).tips
    assert (cards.total.current, cards.total.previous) == (TipCounts(2, 2, 1), TipCounts(1, 1, 1))
    assert events.stats(_query(grids=frozenset())).tips.total.current == TipCounts()


def test_a_verdict_after_the_first_count_shows_in_the_next(engine: Engine) -> None:
    events = EventRepository(engine)
    store_fixture(events)
    before = events.stats(_query())
    assert before.cameras[0] == CameraVerdicts("cam-a", "north", 4, 2, 1)
    at = datetime(2026, 11, 20, tzinfo=UTC)
    events.set_status(Transition("e4", "new", "false_positive", "op", at, "a shadow"))  # cam-a, Wednesday 02:30
    events.set_status(Transition("e6", "new", "dispatched", "op", at, ""))  # cam-c, Saturday 07:59
    after = events.stats(_query())
    assert (after.total.current, after.total.previous) == (Counts(8, 4, 3, 2), Counts(3, 1, 1, 1))
    assert _table(after.by_grid)["north"][0] == Counts(5, 3, 2, 1)
    assert _table(after.by_grid)["south"][0] == Counts(3, 1, 1, 1)
    assert _table(after.by_hour)[2][0] == Counts(1, 0, 1, 0)
    assert _table(after.by_weekday)[6][0] == Counts(1, 1, 0, 0)
    assert after.cameras[0] == CameraVerdicts("cam-a", "north", 4, 2, 2)
    assert after.cameras[2] == CameraVerdicts("cam-c", "south", 2, 1, 1)
    assert after.by_type[0] == Compared("card_posting", Counts(6, 3, 3, 1), Counts(2, 1, 1, 0))


def _plans(engine: Engine, statements: list[tuple[str, Any]]) -> list[str]:
    """The plans of ``statements`` on the vacuumed tables, the planner told to show what the indexes can do (a
    week of fixture rows: it would read the little tables whole)."""
    with engine.connect() as conn:  # what autovacuum does: the pages become all-visible
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        return ["\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + sql, params)) for sql, params in statements]


def test_postgresql_reads_the_edges_and_incidents_from_indexes_alone(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("index-only scans are PostgreSQL's")
    events = EventRepository(engine)
    store_fixture(events)
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM events" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        events.stats(_query())
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    edges = [(sql, p) for sql, p in seen if "GROUPING" not in sql and "stats_camera_months" not in sql]
    incidents = [(sql, p) for sql, p in seen if "GROUPING" in sql]
    assert len(edges) == 1 and len(incidents) == 1, seen  # and the cameras' months with their edges
    edge_plan, incident_plan = _plans(engine, edges + incidents)
    assert "Index Only Scan using ix_events_stats on events" in edge_plan, edge_plan
    assert "Index Only Scan using ix_events_linked on events" in incident_plan, incident_plan


def test_postgresql_counts_from_the_index_alone(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the index-only scan and autovacuum settings are PostgreSQL's")
    events = EventRepository(engine)
    store_fixture(events)
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "GROUPING" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        raw_event_stats(engine, _query())  # counted from the events, as for a zone of other offsets
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert len(seen) == 2  # the counts, and the incidents apart (over the few events in one: any index may do)
    seen = [(sql, params) for sql, params in seen if "incident_id IS NOT NULL" not in sql]
    with engine.connect() as conn:  # what autovacuum does: the pages become all-visible
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE events")
    with engine.begin() as conn:
        # a week of fixture rows: the planner would read the little table whole; make it show what the index can do
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        ((statement, parameters),) = seen
        plan = "\n".join(r[0] for r in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
        options = conn.execute(text("SELECT reloptions FROM pg_class WHERE oid = 'events'::regclass")).scalar_one()
    assert "Index Only Scan using ix_events_stats on events" in plan, plan
    assert "autovacuum_vacuum_insert_scale_factor=0.01" in options
