"""The incident service as the composition root wires it: built and handed to ingest as its event sink before
ingest starts, so an event that arrives before (or while) the service starts is stored, not lost."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from sqlalchemy import Engine

from shopwatch.core.clock import SystemClock
from shopwatch.core.events import EventSink
from shopwatch.core.incidents_config import IncidentsSettings
from tests.api.fakes import FakeFleet, make_camera
from tests.incidents.peers import bounded, build, make_event, wait_for


async def test_an_event_submitted_before_or_while_the_service_starts_is_stored(engine: Engine, tmp_path: Path) -> None:
    fleet = FakeFleet([make_camera(1, "north"), make_camera(2, "north")])
    service = build(IncidentsSettings.model_validate({"linking": {"enabled": False}}), engine, fleet, tmp_path,
                    SystemClock())  # fmt: skip
    sink: EventSink = service  # what the supervisor is given: the typed door, no re-check on the way
    before = make_event("cam-0001", time.time())
    assert sink.submit(before)
    starting = asyncio.create_task(service.start())
    await asyncio.sleep(0)  # start() is under way (reading the feed's last sequence in a thread)
    during = make_event("cam-0002", time.time())
    assert sink.submit(during)
    await bounded(starting, "starting the service")
    try:
        await wait_for(lambda: all(service.events.get(e.id) is not None for e in (before, during)), what="storage")
    finally:
        await bounded(service.close(), "closing the service")
    stored = service.events.get(before.id)
    assert stored is not None and stored.camera_id == "cam-0001" and stored.type == "card_posting"
    assert service.dropped == 0
