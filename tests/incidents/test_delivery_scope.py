"""A grid-scoped caller's view of the outbox is filtered in the query: its deliveries and its counts are its
grids' only, however many deliveries other grids have."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine

from shopwatch.core.clock import ManualClock
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.store.outbox import DeliveryQuery
from tests.api.fakes import FakeFleet, make_camera
from tests.incidents.peers import build, make_event

KEY = "grid-scope-outbox-secret-0123456789"


def hook(grid: str) -> dict[str, str]:
    return {"url": f"http://127.0.0.1:9/{grid}", "secret": KEY, "allow_plain_http": True}


TEAMS = {
    "teams": [{"name": f"{g}-patrol", "grids": [g], "channels": {"webhooks": [hook(g)]}} for g in ("g3", "g4")],
    "mqtt": {"enabled": False},
    "linking": {"enabled": False},
}


async def test_deliveries_and_counts_of_a_grid(engine: Engine, tmp_path: Path) -> None:
    clock = ManualClock()
    fleet = FakeFleet([make_camera(3, "g3"), make_camera(4, "g4")])
    service = build(IncidentsSettings.model_validate(TEAMS), engine, fleet, tmp_path, clock)
    mine = await service.ingest(make_event("cam-0003", clock.wall()))
    for i in range(5):
        await service.ingest(make_event("cam-0004", clock.wall() + 10 * (i + 1)))  # visits 10 s apart

    g3 = frozenset({"g3"})
    assert [d.event_id for d in service.outbox.find(DeliveryQuery(limit=1, grids=g3))] == [mine.id]
    assert service.outbox.counts(g3) == {"pending": 1, "delivered": 0, "failed": 0}
    assert service.outbox.counts()["pending"] == 6
    assert service.outbox.find(DeliveryQuery(grids=frozenset({"g9"}))) == []
