"""Event store and outbox on SQLite and PostgreSQL: an event with its deliveries in one transaction, filters
and cursor pagination, guarded status changes, the feed, escalation once, retention deletes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine

from shopwatch.core.incident_records import (
    DeliveryOutcome,
    DeliveryState,
    Incident,
    Lease,
    NewDelivery,
    StoredEvent,
    Transition,
)
from shopwatch.store.events import BadCursor, EventQuery, EventRepository
from shopwatch.store.outbox import DeliveryQuery, OutboxRepository

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def make_event(n: int, *, camera: str = "cam-1", grid: str = "g1", type_: str = "card_posting") -> StoredEvent:
    """Visit ``n``: 10 s after visit ``n - 1`` (reports of one camera, type and zone less than 3 s apart are one
    visit, stored once: store.event_once)."""
    start = T0 + timedelta(seconds=10 * n)
    return StoredEvent(
        id=f"ev{n:04d}",
        camera_id=camera,
        grid=grid,
        type=type_,
        status="new",
        start=start,
        end=start + timedelta(seconds=3),
        detected_at=start + timedelta(seconds=4),
        stored_at=start + timedelta(seconds=4),
        confidence=0.8,
        zone="door",
        detail={"track_id": n},
        snapshots={"actor": f"events/x/ev{n:04d}/actor.jpg"},
        clip=None,
        media_bytes=1000,
        teams=["north"],
        escalate_at=start + timedelta(seconds=60),
        escalated_at=None,
        incident_id=None,
        deterrence=None,
        updated_at=start,
    )


def delivery(event: StoredEvent, n: int = 0) -> NewDelivery:
    return NewDelivery(f"d-{event.id}-{n}", event.id, "alert", "north", "mqtt", "t/x", {"n": n}, event.stored_at)


def test_event_and_its_deliveries_commit_together(engine: Engine) -> None:
    events, outbox = EventRepository(engine), OutboxRepository(engine)
    event = make_event(1)
    added = events.add(event, [delivery(event, 0), delivery(event, 1)])
    assert events.get(event.id) == event
    assert len(added.seqs) == 1 and events.last_seq() == added.seqs[0] and added.duplicates == []
    due = outbox.claim(event.stored_at, 10, Lease("me", event.stored_at + timedelta(seconds=60)))
    assert {d.id for d in due} == {"d-ev0001-0", "d-ev0001-1"}
    assert all(d.state == "pending" and d.attempts == 0 for d in due)
    # The same event again (a replay) is a duplicate: nothing of it is written, its deliveries neither.
    again = events.add(event, [delivery(event, 2)])
    assert again.duplicates == [event.id] and again.seqs == []
    assert outbox.get("d-ev0001-2") is None and events.last_seq() == added.seqs[0]


def test_filters_and_cursor_pagination(engine: Engine) -> None:
    events = EventRepository(engine)
    for n in range(25):
        grid = "g1" if n % 2 else "g2"
        events.add(
            make_event(n, camera=f"cam-{n % 3}", grid=grid, type_="loitering" if n % 5 == 0 else "card_posting"), []
        )
    seen: list[str] = []
    cursor = None
    while True:
        page = events.query(EventQuery(limit=10, cursor=cursor))
        seen += [e.id for e in page.events]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"ev{n:04d}" for n in reversed(range(25))]

    g1 = events.query(EventQuery(grids=frozenset({"g1"}), limit=100)).events
    assert {e.grid for e in g1} == {"g1"} and len(g1) == 12
    assert events.query(EventQuery(grids=frozenset(), limit=100)).events == []
    loit = events.query(EventQuery(types=frozenset({"loitering"}), camera_ids=frozenset({"cam-0"}), limit=100))
    assert [e.id for e in loit.events] == ["ev0015", "ev0000"]
    window = events.query(EventQuery(since=T0 + timedelta(seconds=50), until=T0 + timedelta(seconds=80), limit=100))
    assert [e.id for e in window.events] == ["ev0007", "ev0006", "ev0005"]
    with pytest.raises(BadCursor):
        events.query(EventQuery(cursor="not-a-cursor"))


def test_status_change_is_guarded_and_recorded(engine: Engine) -> None:
    events = EventRepository(engine)
    events.add(make_event(1), [])
    at = T0 + timedelta(minutes=1)
    assert events.set_status(Transition("ev0001", "new", "acknowledged", "li", at, "on my way")) is not None
    # a second operator who read "new" before loses: the status is no longer what they saw
    assert events.set_status(Transition("ev0001", "new", "false_positive", "wang", at, "")) is None
    assert events.get("ev0001").status == "acknowledged"  # type: ignore[union-attr]
    assert [(t.user, t.to_status, t.note) for t in events.transitions("ev0001")] == [
        ("li", "acknowledged", "on my way")
    ]
    feed = events.feed_since(0)
    assert [(f.kind, f.event.status) for f in feed] == [("created", "acknowledged"), ("transition", "acknowledged")]


def test_escalation_happens_once(engine: Engine) -> None:
    events, outbox = EventRepository(engine), OutboxRepository(engine)
    early, acked = make_event(1), make_event(2)
    events.add(early, [])
    events.add(acked, [])
    events.set_status(Transition(acked.id, "new", "acknowledged", "li", T0, ""))

    def build(event: StoredEvent) -> list[NewDelivery]:
        return [NewDelivery(f"esc-{event.id}", event.id, "escalation", "supervisor", "mqtt", "t/s", {}, T0)]

    assert events.escalate_due(T0 + timedelta(seconds=30), build) == []
    assert events.escalate_due(T0 + timedelta(seconds=90), build) == ["ev0001"]
    assert events.escalate_due(T0 + timedelta(seconds=120), build) == []
    assert [d.id for d in outbox.find(DeliveryQuery(event_id="ev0001"))] == ["esc-ev0001"]


def test_outbox_attempts_and_states(engine: Engine) -> None:
    events, outbox = EventRepository(engine), OutboxRepository(engine)
    event = make_event(1)
    events.add(event, [delivery(event, 0), delivery(event, 1)])
    now, later = event.stored_at, event.stored_at + timedelta(seconds=30)
    mine = Lease("me", now + timedelta(seconds=60))
    assert len(outbox.claim(now, 10, mine)) == 2
    outbox.record([DeliveryOutcome("d-ev0001-0", DeliveryState.PENDING, now, "broker down", later)], "me")
    assert outbox.next_due(now) == later  # the retry; the other is held by "me" for 60 s
    assert [d.id for d in outbox.claim(now, 10, mine)] == []  # not due yet / held
    outbox.record([DeliveryOutcome("d-ev0001-1", DeliveryState.DELIVERED, now)], "me")
    assert [d.id for d in outbox.claim(later, 10, mine)] == ["d-ev0001-0"]
    outbox.record([DeliveryOutcome("d-ev0001-0", DeliveryState.DELIVERED, later)], "me")
    got = outbox.get("d-ev0001-0")
    assert got is not None and got.state == "delivered" and got.attempts == 2 and got.last_error is None
    assert got.leased_by is None and got.lease_until is None
    assert outbox.counts() == {"pending": 0, "delivered": 2, "failed": 0}
    assert outbox.next_due(later) is None
    assert outbox.find(DeliveryQuery(state=DeliveryState.FAILED)) == []


def test_lease_is_exclusive_until_it_runs_out(engine: Engine) -> None:
    """Two processes on one database: a held delivery is not claimed again until its holder's lease ends;
    then the other takes it over, and the first one's late outcome changes nothing."""
    events, outbox = EventRepository(engine), OutboxRepository(engine)
    event = make_event(1)
    events.add(event, [delivery(event, 0)])
    now = event.stored_at
    first = outbox.claim(now, 10, Lease("a", now + timedelta(seconds=60)))
    assert [(d.id, d.leased_by) for d in first] == [("d-ev0001-0", "a")]
    assert outbox.claim(now + timedelta(seconds=59), 10, Lease("b", now + timedelta(seconds=119))) == []
    assert outbox.next_due(now) == now + timedelta(seconds=60)
    taken = outbox.claim(now + timedelta(seconds=60), 10, Lease("b", now + timedelta(seconds=120)))
    assert [d.leased_by for d in taken] == ["b"]
    outbox.record([DeliveryOutcome("d-ev0001-0", DeliveryState.FAILED, now, "late")], "a")  # not a's any more
    got = outbox.get("d-ev0001-0")
    assert got is not None and got.state == "pending" and got.leased_by == "b" and got.attempts == 0
    outbox.release(["d-ev0001-0"], "b")
    assert [d.leased_by for d in outbox.claim(now, 10, Lease("c", now + timedelta(seconds=60)))] == ["c"]


def test_incident_links_earlier_events_and_delete_cleans_up(engine: Engine) -> None:
    events, outbox = EventRepository(engine), OutboxRepository(engine)
    first, second = make_event(1, camera="cam-1"), make_event(2, camera="cam-2")
    events.add(first, [delivery(first)])
    incident = Incident("inc1", "card_posting", first.start, second.start, {"events": [first.id, second.id]})
    added = events.add(StoredEvent(**{**_fields(second), "incident_id": "inc1"}), [], incident)
    assert len(added.seqs) == 2  # created + the earlier event linked
    assert events.get(first.id).incident_id == "inc1"  # type: ignore[union-attr]
    assert [e.id for e in events.query(EventQuery(incident_id="inc1")).events] == [second.id, first.id]
    assert events.media_bytes() == 2000
    assert events.delete([first.id]) == 1
    assert outbox.get(f"d-{first.id}-0") is None and events.incident("inc1") is not None
    events.delete([second.id])
    assert events.incident("inc1") is None and events.feed_since(0) == []


def _fields(event: StoredEvent) -> dict[str, object]:
    return {name: getattr(event, name) for name in event.__slots__}  # type: ignore[attr-defined]
