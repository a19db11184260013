"""Summary tables of the case-analysis numbers, kept exact in the transaction of every change to the events
(store/stats_upkeep.py) and read by store/stats_rollup.py.

- ``stats_days``: per UTC day, grid and type: the events, confirmed and false positives of the day, and the same
  per UTC hour of the day (``e00``..``e23``, ``c00``..``c23``, ``f00``..``f23``). One wide row per (day, grid,
  type) rather than one per hour: a year of 1,200 cameras has about one event per (hour, grid, type), so hourly
  rows would be no fewer than the events. Hours are UTC: for a station zone whose offsets are whole hours
  (Asia/Shanghai, every DST zone of whole hours) each UTC hour is one local hour, so local hours and weekdays are
  exact; for other zones the numbers are counted from the events.
- ``stats_camera_months``: per UTC month, camera, grid, zone (surface) and type: events, confirmed, false
  positives, for the hot spots and per-camera precision (a day holds about one event per camera, so days would be
  no fewer than the events either).

- ``stats_incident_days``: distinct incidents, which do not add up across days (an incident whose events straddle
  midnight is one): per UTC day, the incidents whose events all fall on that day, counted once per ``set`` and
  ``key``: ``total`` (key ""), ``grid``, ``type`` (each grid and type it has events of), ``hours`` (key: the
  bitmask of the UTC hours of its events, so that the local hours and weekdays it touches are counted once
  each). An incident whose events fall on two or more days is in ``stats_split_incidents`` instead and counted
  from its events (store/stats_rollup.py).

A row whose count falls to 0 (retention deleted its events) is deleted."""

from __future__ import annotations

from sqlalchemy import Column, Integer, PrimaryKeyConstraint, String, Table

from shopwatch.store.base import Base, UtcDateTime

CONFIRMED = ("dispatched", "resolved")  # an operator acted on it as real
FALSE_POSITIVE = "false_positive"  # the operator's verdict that it was not
HOURS = range(24)
TOTALS = ("events", "confirmed", "false_positives")
HOURLY = tuple(f"{kind}{h:02d}" for kind in "ecf" for h in HOURS)  # e00..e23, c00..c23, f00..f23
DAY_COUNTS = TOTALS + HOURLY
DAY_KEYS = ("day", "grid", "type")
MONTH_KEYS = ("month", "camera_id", "grid", "zone", "type")

STATS_DAYS = Table(
    "stats_days",
    Base.metadata,
    Column("day", UtcDateTime(), nullable=False),  # 00:00 UTC
    Column("grid", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    *(Column(name, Integer, nullable=False) for name in DAY_COUNTS),
    PrimaryKeyConstraint(*DAY_KEYS),
)

STATS_CAMERA_MONTHS = Table(
    "stats_camera_months",
    Base.metadata,
    Column("month", UtcDateTime(), nullable=False),  # the 1st, 00:00 UTC
    Column("camera_id", String(63), nullable=False),
    Column("grid", String(64), nullable=False),
    Column("zone", String(64), nullable=False),
    Column("type", String(32), nullable=False),
    *(Column(name, Integer, nullable=False) for name in TOTALS),
    PrimaryKeyConstraint(*MONTH_KEYS),
)

INCIDENT_KEYS = ("day", "set", "key")

STATS_INCIDENT_DAYS = Table(
    "stats_incident_days",
    Base.metadata,
    Column("day", UtcDateTime(), nullable=False),  # 00:00 UTC
    Column("set", String(8), nullable=False),  # total | grid | type | hours
    Column("key", String(64), nullable=False),
    Column("incidents", Integer, nullable=False),
    PrimaryKeyConstraint(*INCIDENT_KEYS),
)

STATS_SPLIT_INCIDENTS = Table(
    "stats_split_incidents",
    Base.metadata,
    Column("incident_id", String(32), nullable=False),
    PrimaryKeyConstraint("incident_id"),
)


def verdict(status: str) -> tuple[int, int]:
    """(confirmed, false positive) of an event in ``status``: each 0 or 1."""
    return int(status in CONFIRMED), int(status == FALSE_POSITIVE)
