"""A hand-counted week of events (and the week before it) for the case-analysis numbers, shared by the store
and the API tests. Times are the station's (Asia/Shanghai, UTC+8); the expected numbers in the tests were
counted by hand from the table below, not computed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from shopwatch.core.incident_records import Incident
from shopwatch.store.events import EventRepository
from tests.store.test_events import make_event

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
