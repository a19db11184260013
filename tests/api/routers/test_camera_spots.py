"""Teaching by false positive over the API: ``ignore_spot`` on a card-posting false positive stores its patches'
areas on the camera (grown a little), an admin lists and clears them per camera (grid-scoped, audited), and a
request that cannot make a spot (another status, an event without patches) is refused and changes nothing; a
camera's health says whether it was calibrated ("default" or when) and what its spots suppressed."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest
from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from shopwatch.core.events import CardEvidence, Event, EventType
from shopwatch.core.health import DetectionStatus
from shopwatch.core.incident_records import StoredEvent
from shopwatch.core.learnt import IgnoredSpot
from shopwatch.core.principal import Role
from shopwatch.incidents.service import IncidentService
from shopwatch.incidents.workflow import Status
from tests.api.auth_fixtures import AuthKit
from tests.api.fakes import FakeFleet
from tests.incidents.peers import make_event

PATCH = (0.30, 0.40, 0.32, 0.43)


def card_event(camera_id: str, ago_s: float = 60.0) -> Event:
    """A card-posting event that started ``ago_s`` ago (events are stored once per visit: another visit starts at
    another time)."""
    event = make_event(camera_id, time.time() - ago_s)
    return Event(**{
        **{f: getattr(event, f) for f in ("camera_id", "start", "end", "confidence", "track_id", "box", "detected_at")},
        "type": EventType.CARD_POSTING, "zone": "door", "snapshots": event.snapshots,
        "evidence": CardEvidence((PATCH,), (0.2, 0.3, 0.5, 0.6)),
    })  # fmt: skip


async def test_a_false_positive_with_ignore_spot_stores_its_patch_for_the_camera(
    client: httpx.AsyncClient, incidents: IncidentService
) -> None:
    event = await incidents.ingest(card_event("cam-0001"))
    answer = await client.post(
        f"/api/events/{event.id}/transitions", json={"status": "false_positive", "note": "text", "ignore_spot": True}
    )
    assert answer.status_code == 200 and answer.json()["status"] == "false_positive"

    [spot] = (await client.get("/api/cameras/cam-0001/ignored-spots")).json()
    assert (spot["zone"], spot["event_id"], spot["created_by"]) == ("door", event.id, "admin")
    x1, y1, x2, y2 = spot["box"]
    assert x1 < PATCH[0] and y1 < PATCH[1] and x2 > PATCH[2] and y2 > PATCH[3]  # grown around the patch
    assert x2 - x1 < 3 * (PATCH[2] - PATCH[0])  # but a spot, not the surface
    assert (await client.get("/api/cameras/cam-0004/ignored-spots")).json() == []


@pytest.mark.parametrize("status", ["acknowledged", "resolved"])
async def test_ignore_spot_goes_with_false_positive_only(
    client: httpx.AsyncClient, incidents: IncidentService, status: str
) -> None:
    event = await incidents.ingest(card_event("cam-0001"))
    refused = await client.post(f"/api/events/{event.id}/transitions", json={"status": status, "ignore_spot": True})
    assert refused.status_code == 422 and "false_positive" in refused.json()["detail"]
    assert (await client.get(f"/api/events/{event.id}")).json()["status"] == "new"
    assert (await client.get("/api/cameras/cam-0001/ignored-spots")).json() == []


async def test_an_event_without_patches_has_no_spot_to_ignore(
    client: httpx.AsyncClient, incidents: IncidentService
) -> None:
    event = await incidents.ingest(make_event("cam-0001", time.time() - 60, EventType.LOITERING))
    body = {"status": "false_positive", "ignore_spot": True}
    refused = await client.post(f"/api/events/{event.id}/transitions", json=body)
    assert refused.status_code == 422 and "no card patches" in refused.json()["detail"]
    assert (await client.get(f"/api/events/{event.id}")).json()["status"] == "new"  # nothing changed


async def test_an_admin_lists_and_clears_spots_within_its_grids(
    client: httpx.AsyncClient, incidents: IncidentService, auth_kit: AuthKit
) -> None:
    for visit in range(3):
        event = await incidents.ingest(card_event("cam-0001", 60.0 + 20 * visit))
        body = {"status": "false_positive", "ignore_spot": True}
        assert (await client.post(f"/api/events/{event.id}/transitions", json=body)).status_code == 200
    url = "/api/cameras/cam-0001/ignored-spots"
    spots = (await client.get(url)).json()
    assert len(spots) == 3

    operator = auth_kit.headers("olga", Role.OPERATOR)
    assert (await client.get(url, headers=operator)).status_code == 403
    assert (await client.delete(url, headers=operator)).status_code == 403
    south_admin = auth_kit.headers("sam", Role.ADMIN, ("south",))
    assert (await client.get(url, headers=south_admin)).status_code == 404  # not its grid: as if absent
    assert (await client.delete(url, headers=south_admin)).status_code == 404
    assert (await client.get("/api/cameras/nope/ignored-spots")).status_code == 404

    one = await client.delete(f"{url}/{spots[0]['id']}")
    assert one.status_code == 200 and one.json() == {"removed": 1}
    assert (await client.delete(f"{url}/{spots[0]['id']}")).status_code == 404
    assert [s["id"] for s in (await client.get(url)).json()] == [s["id"] for s in spots[1:]]
    assert (await client.delete(url)).json() == {"removed": 2}
    assert (await client.get(url)).json() == []
    assert len(auth_kit.entries(action="camera.ignored_spots.clear")) == 2


async def test_a_cameras_health_says_whether_it_was_calibrated(client: httpx.AsyncClient, fleet: FakeFleet) -> None:
    for camera_id, status in [
        ("cam-0001", DetectionStatus("person", 10, 4, 0)),
        ("cam-0004", DetectionStatus("motion", 10, 0, 1, calibration="2026-12-01T12:00:00Z", ignored_spots=2,
                                     suppressed_by_spots=1)),
    ]:
        current = fleet.health(camera_id)
        assert current is not None
        fleet.report(replace(current, detection=status))
    plain = (await client.get("/api/cameras/cam-0001")).json()["health"]["detection"]
    assert (plain["calibration"], plain["ignored_spots"], plain["suppressed_by_spots"]) == ("default", 0, 0)
    taught = (await client.get("/api/cameras/cam-0004")).json()["health"]["detection"]
    assert (taught["calibration"], taught["ignored_spots"], taught["suppressed_by_spots"]) == (
        "2026-12-01T12:00:00Z", 2, 1
    )  # fmt: skip
    listed = {c["id"]: c for c in (await client.get("/api/cameras")).json()["cameras"]}
    assert listed["cam-0001"]["health"]["detection"]["calibration"] == "default"


async def test_the_spot_and_the_false_positive_are_stored_together_or_not_at_all(
    client: httpx.AsyncClient, incidents: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database fails after the spot's row was written, inside the transaction of the status change: neither
    the spot nor the false positive stays (no spot taught by an event that is still "new", and no false
    positive whose spot was lost)."""
    assert incidents.spots is not None
    teach = incidents.spots.lesson

    def failing(event: StoredEvent, user: str) -> tuple[list[IgnoredSpot], Callable[[Connection], None]]:
        spots, write = teach(event, user)

        def write_then_fail(conn: Connection) -> None:
            write(conn)
            raise OperationalError("INSERT", {}, Exception("the database went away"))

        return spots, write_then_fail

    monkeypatch.setattr(incidents.spots, "lesson", failing)
    event = await incidents.ingest(card_event("cam-0001"))
    with pytest.raises(OperationalError):
        await incidents.transition(event.id, Status.FALSE_POSITIVE, "admin", "", ignore_spot=True)
    assert (await client.get(f"/api/events/{event.id}")).json()["status"] == "new"
    assert (await client.get("/api/cameras/cam-0001/ignored-spots")).json() == []

    monkeypatch.setattr(incidents.spots, "lesson", teach)
    await incidents.transition(event.id, Status.FALSE_POSITIVE, "admin", "", ignore_spot=True)
    assert (await client.get(f"/api/events/{event.id}")).json()["status"] == "false_positive"
    assert len((await client.get("/api/cameras/cam-0001/ignored-spots")).json()) == 1
