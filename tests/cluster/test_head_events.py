"""The head links the events Ray shards stored and runs their auto-deterrence (``cluster/head_events.py``), on
SQLite and PostgreSQL, without Ray: events stored as a shard stores them (``ShardEventRepository``, through the
shard's ``Recorder``) by cameras a few metres apart become one incident; each event is linked and deterred
once, across a head restart (a new incidents service on the same database) and after a failed write; events
the head's own service stored are not taken for a shard's."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from shopwatch.cluster.event_writer import Recorder
from shopwatch.cluster.feed_wake import FeedWake
from shopwatch.cluster.head_events import HeadEvents
from shopwatch.core.clock import ManualClock
from shopwatch.core.incident_records import Incident, StoredEvent
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.incidents.service import IncidentService
from shopwatch.store.inbox import EventInbox, Settled, ShardEventRepository
from shopwatch.store.incident_tables import FeedRow
from tests.api.fakes import FakeFleet, make_camera
from tests.incidents.peers import build, make_event, wait_for
from tests.store.test_stats_rollup import _recounted as recounted
from tests.store.test_stats_rollup import _tables as summary_tables

SETTINGS = IncidentsSettings.model_validate({
    "mqtt": {"enabled": False},
    "linking": {"distance_m": 40, "window_s": 120},
    "deterrence": [{"type": "card_posting", "clip": "warning_cards", "min_confidence": 0.95}],
})  # fmt: skip


class Shard:
    """Stores events as a Ray shard does: recorded (media, deliveries) and put in the head's inbox."""

    def __init__(self, engine: Engine, fleet: FakeFleet, data_dir: Path, clock: ManualClock) -> None:
        self._recorder = Recorder(SETTINGS, data_dir, clock)
        self._events = ShardEventRepository(engine)
        self._fleet = fleet

    def store(self, camera_id: str, start: float) -> str:
        event = make_event(camera_id, start)
        added = self._events.add_many([self._recorder.record(event, self._fleet.camera(camera_id))])
        assert not added.duplicates
        return event.id


class FailingOnce(EventInbox):
    """The database refuses the first write of links (a connection lost at commit)."""

    failed = False

    def settle(self, event_ids: Sequence[str], links: Sequence[tuple[str, Incident]], at: datetime) -> Settled:
        if not self.failed:
            self.failed = True
            raise OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))
        return super().settle(event_ids, links, at)


async def head(
    engine: Engine, fleet: FakeFleet, data_dir: Path, clock: ManualClock
) -> tuple[IncidentService, HeadEvents]:
    incidents = build(SETTINGS, engine, fleet, data_dir, clock)
    await incidents.start()
    return incidents, HeadEvents(EventInbox(engine), incidents, FeedWake(engine, incidents.feed), clock)


def feed_kinds(engine: Engine) -> Counter[tuple[str, str]]:
    with engine.connect() as conn:
        return Counter((str(e), str(k)) for e, k in conn.execute(select(FeedRow.event_id, FeedRow.kind)).all())


def deterred(incidents: IncidentService, event_ids: Sequence[str]) -> bool:
    events = [incidents.events.get(i) for i in event_ids]
    return all(e is not None and e.deterrence is not None for e in events)


def stored(incidents: IncidentService, event_id: str) -> StoredEvent:
    event = incidents.events.get(event_id)
    assert event is not None
    return event


async def test_shards_events_on_neighbouring_cameras_are_linked_and_deterred_once_across_a_head_restart(
    engine: Engine, tmp_path: Path
) -> None:
    clock = ManualClock(wall_start=1_800_000_000.0)
    fleet = FakeFleet([make_camera(i, "north") for i in range(1, 6)])  # ~11 m apart, northwards
    shard = Shard(engine, fleet, tmp_path / "data", clock)
    t0 = clock.wall()
    first = shard.store("cam-0001", t0)
    second = shard.store("cam-0002", t0 + 20)

    incidents, events = await head(engine, fleet, tmp_path / "data", clock)
    own = await incidents.ingest(make_event("cam-0005", t0 + 500))  # the head's own: not in the inbox
    try:
        await events.after_pull()
        assert events.linked == 2
        await wait_for(lambda: deterred(incidents, [first, second, own.id]), what="deterrence recorded")
    finally:
        await incidents.close()
    a, b = stored(incidents, first), stored(incidents, second)
    assert a.incident_id is not None and a.incident_id == b.incident_id
    incident = incidents.events.incident(a.incident_id)
    assert incident is not None and incident.summary["events"] == [first, second]
    assert incident.summary["direction"] == "north"
    assert (b.deterrence or {}).get("outcome") == "skipped"  # 0.81 is below the rule's 0.95

    # The head away: shards store the next two cameras' events (one visit seen by both at once); a new head
    # starts on the same database.
    clock.advance(40)
    third, fourth = shard.store("cam-0003", t0 + 40), shard.store("cam-0004", t0 + 40)
    incidents, events = await head(engine, fleet, tmp_path / "data", clock)
    try:
        assert await events.check() == 2
        assert await events.check() == 0
        await wait_for(lambda: deterred(incidents, [third, fourth]), what="the new events' deterrence")
    finally:
        await incidents.close()
    assert stored(incidents, third).incident_id == stored(incidents, fourth).incident_id == a.incident_id
    incident = incidents.events.incident(a.incident_id)
    assert incident is not None
    assert incident.summary["events"][:2] == [first, second] and set(incident.summary["events"][2:]) == {third, fourth}
    kinds = feed_kinds(engine)
    for event_id in (first, second, third, fourth):
        assert kinds[(event_id, "created")] == 1
        assert kinds[(event_id, "linked")] == 1, f"{event_id} linked more than once"
        assert kinds[(event_id, "deterrence")] == 1, f"{event_id} deterred more than once"
    assert kinds[(own.id, "deterrence")] == 1 and kinds[(own.id, "linked")] == 0
    assert EventInbox(engine).count() == 0
    assert summary_tables(engine) == recounted(engine), "the incident summary follows the links written later"


async def test_links_whose_write_failed_are_written_once_at_the_next_round(engine: Engine, tmp_path: Path) -> None:
    clock = ManualClock(wall_start=1_800_000_000.0)
    fleet = FakeFleet([make_camera(i, "north") for i in range(1, 3)])
    shard = Shard(engine, fleet, tmp_path / "data", clock)
    ids = [shard.store("cam-0001", clock.wall()), shard.store("cam-0002", clock.wall() + 10)]
    incidents = build(SETTINGS, engine, fleet, tmp_path / "data", clock)
    await incidents.start()
    events = HeadEvents(FailingOnce(engine), incidents, FeedWake(engine, incidents.feed), clock)
    try:
        assert await events.check() == 0  # the write failed: nothing linked, nothing deterred, rows kept
        assert EventInbox(engine).count() == 2 and not any(stored(incidents, i).deterrence for i in ids)
        await events.after_pull()  # behind: tried again at once
        await wait_for(lambda: deterred(incidents, ids), what="deterrence recorded")
    finally:
        await incidents.close()
    assert events.linked == 2
    one, two = (stored(incidents, i) for i in ids)
    assert one.incident_id is not None and one.incident_id == two.incident_id
    incident = incidents.events.incident(one.incident_id)
    assert incident is not None and incident.summary["events"] == ids
    kinds = feed_kinds(engine)
    assert [kinds[(i, "linked")] for i in ids] == [1, 1] and [kinds[(i, "deterrence")] for i in ids] == [1, 1]


@pytest.mark.parametrize("linking", [True, False])
async def test_a_lone_event_leaves_the_inbox_unlinked(engine: Engine, tmp_path: Path, linking: bool) -> None:
    clock = ManualClock(wall_start=1_800_000_000.0)
    fleet = FakeFleet([make_camera(1, "north")])
    settings = SETTINGS.model_copy(update={"linking": SETTINGS.linking.model_copy(update={"enabled": linking})})
    lone = Shard(engine, fleet, tmp_path / "data", clock).store("cam-0001", clock.wall())
    incidents = build(settings, engine, fleet, tmp_path / "data", clock)
    events = HeadEvents(EventInbox(engine), incidents, FeedWake(engine, incidents.feed), clock)
    try:
        assert await events.check() == 1
    finally:
        await incidents.close()
    assert stored(incidents, lone).incident_id is None and EventInbox(engine).count() == 0
