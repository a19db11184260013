"""Escalation and retention with an injected clock: an event nobody acknowledged within the team's time goes
to the supervisor channel once (an acknowledged one does not); old events and a full disk budget delete the
oldest events with their files; a second report of a visit is stored and alerted once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from shopwatch.core.clock import ManualClock
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.incidents.service import DuplicateEvent
from shopwatch.incidents.workflow import Status
from shopwatch.store.events import EventQuery
from shopwatch.store.outbox import DeliveryQuery
from tests.api.fakes import FakeFleet, make_camera
from tests.incidents.peers import build, make_event

SETTINGS = {
    "teams": [{"name": "north", "grids": ["north"], "escalation_s": 60, "escalation_contacts": ["Sgt. Li 139"]}],
    "linking": {"enabled": False},
}


async def test_unacknowledged_event_escalates_once(engine: Engine, tmp_path: Path) -> None:
    clock = ManualClock()
    fleet = FakeFleet([make_camera(1, "north")])
    service = build(IncidentsSettings.model_validate(SETTINGS), engine, fleet, tmp_path, clock)
    ignored = await service.ingest(make_event("cam-0001", clock.wall()))
    handled = await service.ingest(make_event("cam-0001", clock.wall() + 10))  # another visit
    clock.advance(30)
    await service.transition(handled.id, Status.ACKNOWLEDGED, "li", "on it")
    assert await service.escalate_due() == []
    clock.advance(31)
    assert await service.escalate_due() == [ignored.id]
    clock.advance(600)
    assert await service.escalate_due() == []
    escalations = [d for d in service.outbox.find(DeliveryQuery(limit=100)) if d.reason == "escalation"]
    assert [(d.event_id, d.team, d.target) for d in escalations] == [
        (ignored.id, "supervisor", "shopwatch/escalations/north/card_posting")
    ]
    payload = escalations[0].payload
    assert payload["escalation_contacts"] == ["Sgt. Li 139"] and payload["teams"] == ["north"]
    assert payload["unacknowledged_s"] == 61


async def test_retention_by_age_and_disk_budget(engine: Engine, tmp_path: Path) -> None:
    clock = ManualClock()
    fleet = FakeFleet([make_camera(1, "north")])
    conf = IncidentsSettings.model_validate({**SETTINGS, "retention": {"max_age_days": 1, "max_disk_mb": 1}})
    service = build(conf, engine, fleet, tmp_path, clock)
    old = await service.ingest(make_event("cam-0001", clock.wall()))
    clock.advance(2 * 86400)
    events = [await service.ingest(make_event("cam-0001", clock.wall() + 10 * i)) for i in range(3)]  # 3 visits
    folder = service.media.event_dir(old.id, old.start)
    assert folder.is_dir()
    assert await service.apply_retention() == 1  # the old one
    assert not folder.exists() and service.events.get(old.id) is None
    per_event = events[0].media_bytes
    budget = IncidentsSettings.model_validate({**SETTINGS, "retention": {"max_disk_mb": 2.5 * per_event / 2**20}})
    service.settings = budget
    assert await service.apply_retention() == 1  # the oldest of the three goes; two fit
    assert service.events.get(events[0].id) is None and service.events.get(events[2].id) is not None


async def test_a_second_report_of_a_visit_is_stored_once_alerted_once_and_leaves_no_files(
    engine: Engine, tmp_path: Path
) -> None:
    """Two readers of one camera (an old shard and its replacement) report one visit, their starts 1.5 s apart:
    one event, one alert, no second incident or feed entry, and the second report's pictures are not kept."""
    clock = ManualClock()
    service = build(IncidentsSettings.model_validate(SETTINGS), engine, FakeFleet([make_camera(1, "north")]),
                    tmp_path, clock)  # fmt: skip
    first = await service.ingest(make_event("cam-0001", clock.wall()))
    again = make_event("cam-0001", clock.wall() + 1.5)
    with pytest.raises(DuplicateEvent, match=f"event {again.id} on cam-0001 is another report"):
        await service.ingest(again)
    assert service.submit(make_event("cam-0001", clock.wall() - 1.0))  # the queued path too
    await service.start()
    await service.close()  # what was queued is stored first
    assert [e.id for e in service.events.query(EventQuery()).events] == [first.id]
    deliveries = service.outbox.find(DeliveryQuery(limit=100))
    assert deliveries and {d.event_id for d in deliveries} == {first.id}
    assert (service.stored, service.duplicates) == (1, 2)
    assert [f.event.id for f in service.events.feed_since(0)] == [first.id]
    folders = [p.name for p in (tmp_path / "events").glob("*/*")]
    assert folders == [first.id]
