"""A hand-counted week of events and tips (and the week before it) for the case-analysis numbers, shared by the
store and the API tests. Times are the station's (Asia/Shanghai, UTC+8); the expected numbers in the tests were
counted by hand from the table below, not computed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from shopwatch.core.incident_records import Incident
from shopwatch.store.events import EventRepository
from shopwatch.store.tips import TipRepository
from tests.store.test_events import make_event
from tests.store.test_tips import tip

CST = timezone(timedelta(hours=8))
SINCE = datetime(2026, 11, 9, tzinfo=CST)  # a Monday
UNTIL = datetime(2026, 11, 16, tzinfo=CST)

# id, camera, grid, type, local time (day, hour, minute), status, zone, incident
ROWS = [
    # this week
    ("e1", "cam-a", "north", "card_posting", (9, 22, 10), "resolved", "wall", "I1"),
    ("e2", "cam-a", "north", "card_posting", (9, 22, 40), "dispatched", "wall", "I1"),
    ("e3", "cam-a", "north", "card_posting", (11, 23, 5), "false_positive", "wall", None),
    ("e4", "cam-a", "north", "card_posting", (11, 2, 30), "new", "door", None),
    ("e5", "cam-b", "north", "loitering", (13, 14, 0), "resolved", "door", None),
    ("e6", "cam-c", "south", "card_posting", (14, 7, 59), "new", "wall", None),  # Friday 23:59 in UTC
    ("e7", "cam-c", "south", "card_posting", (15, 23, 59), "false_positive", "wall", None),
    ("e8", "cam-d", "south", "intrusion", (15, 3, 0), "acknowledged", "gate", "I2"),
    # the week before
    ("p1", "cam-a", "north", "card_posting", (3, 22, 15), "resolved", "wall", None),
    ("p2", "cam-c", "south", "card_posting", (7, 8, 30), "false_positive", "wall", None),
    ("p3", "cam-d", "south", "intrusion", (2, 0, 0), "new", "gate", "I3"),  # the previous week's first instant
    # outside both
    ("o1", "cam-a", "north", "card_posting", (16, 0, 0), "resolved", "wall", None),  # the end is excluded
    ("o2", "cam-b", "north", "card_posting", (1, 23, 59), "resolved", "wall", None),
]


def store_fixture(events: EventRepository) -> None:
    for n, (event_id, camera, grid, type_, (day, hour, minute), status, zone, incident) in enumerate(ROWS):
        start = datetime(2026, 11, day, hour, minute, tzinfo=CST)
        event = replace(
            make_event(n, camera=camera, grid=grid, type_=type_),
            id=event_id,
            start=start,
            status=status,
            zone=zone,
            incident_id=incident,
        )
        linked = None if incident is None else Incident(incident, type_, start, start, {})
        events.add(event, [], linked)


# id, grid (None: place unresolved), type, local time seen (day, hour, minute), status, led to a case
TIPS = [
    # this week
    ("t1", "north", "card_posting", (9, 22, 30), "confirmed", True),
    ("t2", "north", "card_posting", (10, 21, 0), "merged", False),
    ("t3", "south", "suspicious_person", (14, 7, 30), "closed", False),  # Friday 23:30 in UTC
    ("t4", None, "other", (12, 10, 0), "candidate", False),
    # the week before
    ("q1", "north", "card_posting", (3, 22, 0), "confirmed", True),
    ("q2", "south", "hazard", (5, 9, 0), "closed", False),
    # outside both
    ("x1", "north", "card_posting", (16, 0, 0), "confirmed", True),  # the end is excluded
    ("x2", "south", "card_posting", (1, 23, 59), "candidate", False),
]


def store_tips(tips: TipRepository) -> None:
    for n, (tip_id, grid, type_, (day, hour, minute), status, led_to_case) in enumerate(TIPS):
        seen = datetime(2026, 11, day, hour, minute, tzinfo=CST)
        tips.add(
            replace(
                tip(n, "vol-li"), id=tip_id, grid=grid, type=type_, seen_at=seen, filed_at=seen + timedelta(hours=1),
                status=status, led_to_case=led_to_case, place_from="unresolved" if grid is None else "camera",
            )
        )  # fmt: skip
