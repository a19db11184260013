"""Cross-camera linking: five cameras along a street north-east, one card poster working them in turn ->
one incident with the path in order, the direction and speed, and the next camera ahead; events of another
type, far away or long after stay apart. A service restarted mid-street still links the next camera."""

from __future__ import annotations

import math
from pathlib import Path

from sqlalchemy import Engine

from shopwatch.core.clock import ManualClock
from shopwatch.core.events import EventType
from shopwatch.core.incidents_config import IncidentsSettings, Linking
from shopwatch.incidents.linking import Linker, Place, Sighting, bearing_deg, compass, distance_m
from shopwatch.incidents.workflow import Status
from tests.api.fakes import FakeFleet, make_camera
from tests.incidents.peers import build, make_event

ORIGIN = Place(31.2300, 121.4700)
M_PER_DEG_LAT = 111_195.0


def along(metres: float, bearing: float) -> Place:
    """A point ``metres`` from ORIGIN towards ``bearing`` (flat approximation, fine at street scale)."""
    north = metres * math.cos(math.radians(bearing))
    east = metres * math.sin(math.radians(bearing))
    return Place(
        ORIGIN.lat + north / M_PER_DEG_LAT,
        ORIGIN.lon + east / (M_PER_DEG_LAT * math.cos(math.radians(ORIGIN.lat))),
    )


def street() -> dict[str, Place]:
    cams = {f"cam-{i}": along(30.0 * i, 45.0) for i in range(7)}  # 30 m apart, north-east
    cams["far"] = along(5000.0, 45.0)
    cams["behind"] = along(30.0, 225.0)
    return cams


def test_geometry() -> None:
    a, b = along(0, 0), along(100, 45)
    assert abs(distance_m(a, b) - 100) < 0.5
    assert abs(bearing_deg(a, b) - 45) < 0.5
    assert [compass(x) for x in (0, 44, 46, 90, 180, 225, 300, 350)] == [
        "north",
        "north-east",
        "north-east",
        "east",
        "south",
        "south-west",
        "north-west",
        "north",
    ]


def test_five_cameras_along_a_line_become_one_incident() -> None:
    cams = street()
    linker = Linker(Linking(distance_m=70, window_s=120, next_cameras=2))
    t0 = 1_800_000_000.0
    links = []
    for i in range(5):
        links.append(linker.add(Sighting(f"e{i}", f"cam-{i}", "card_posting", cams[f"cam-{i}"], t0 + 25 * i), cams))
    # unrelated: another type at the same place, a camera far away, the same street much later
    assert linker.add(Sighting("x1", "cam-2", "loitering", cams["cam-2"], t0 + 60), cams) is None
    assert linker.add(Sighting("x2", "far", "card_posting", cams["far"], t0 + 70), cams) is None
    assert links[0] is None
    last = links[-1]
    assert last is not None and all(link is not None and link.incident_id == last.incident_id for link in links[1:])
    assert last.event_ids == ["e0", "e1", "e2", "e3", "e4"]
    summary = last.summary
    assert [p["camera_id"] for p in summary["path"]] == [f"cam-{i}" for i in range(5)]
    assert summary["direction"] == "north-east"
    assert abs(summary["speed_mps"] - 1.2) < 0.05  # 30 m every 25 s
    assert summary["next_cameras"] == ["cam-5", "cam-6"]  # ahead, nearest first; not "behind" nor "far"
    assert "north-east along the street, ~1.2 m/s" in summary["text"]
    late = linker.add(Sighting("late", "cam-4", "card_posting", cams["cam-4"], t0 + 100 + 121), cams)
    assert late is None


def test_false_positive_links_nothing_more() -> None:
    cams = street()
    linker = Linker(Linking(distance_m=50, window_s=120))
    linker.add(Sighting("e0", "cam-0", "card_posting", cams["cam-0"], 0.0), cams)
    linker.forget("e0")
    assert linker.add(Sighting("e1", "cam-1", "card_posting", cams["cam-1"], 20.0), cams) is None


def test_disabled_links_nothing() -> None:
    cams = street()
    linker = Linker(Linking(enabled=False))
    linker.add(Sighting("e0", "cam-0", "card_posting", cams["cam-0"], 0.0), cams)
    assert linker.add(Sighting("e1", "cam-1", "card_posting", cams["cam-1"], 20.0), cams) is None


async def test_a_restart_keeps_what_linking_remembers(engine: Engine, tmp_path: Path) -> None:
    """Restart = a new service object on the same database: an incident opened before it, and an event that
    had not linked yet, are still joined by the next camera along the street; a false positive is not."""
    clock = ManualClock()
    fleet = FakeFleet([make_camera(i, "north") for i in range(1, 6)])  # ~11 m apart, northwards
    linking = {"distance_m": 40, "window_s": 120}
    conf = IncidentsSettings.model_validate({"mqtt": {"enabled": False}, "linking": linking})
    before = build(conf, engine, fleet, tmp_path, clock)
    first = await before.ingest(make_event("cam-0001", clock.wall()))
    clock.advance(20)
    second = await before.ingest(make_event("cam-0002", clock.wall()))
    alone = await before.ingest(make_event("cam-0004", clock.wall(), EventType.LOITERING))
    mistaken = await before.ingest(make_event("cam-0005", clock.wall(), EventType.INTRUSION))
    await before.transition(mistaken.id, Status.FALSE_POSITIVE, "li", "a delivery man")
    assert second.incident_id is not None and alone.incident_id is None

    clock.advance(20)
    after = build(conf, engine, fleet, tmp_path, clock)
    await after.start()
    try:
        third = await after.ingest(make_event("cam-0003", clock.wall()))
        joined = await after.ingest(make_event("cam-0003", clock.wall(), EventType.LOITERING))
        apart = await after.ingest(make_event("cam-0004", clock.wall(), EventType.INTRUSION))
    finally:
        await after.close()
    assert third.incident_id == second.incident_id
    incident = after.events.incident(second.incident_id)
    assert incident is not None and incident.summary["events"] == [first.id, second.id, third.id]
    assert incident.summary["direction"] == "north"
    was_alone = after.events.get(alone.id)
    assert joined.incident_id is not None and was_alone is not None and was_alone.incident_id == joined.incident_id
    assert apart.incident_id is None


async def test_a_grid_scoped_list_of_incidents_is_filtered_before_its_limit(engine: Engine, tmp_path: Path) -> None:
    """Grid 3's patrol asking for the latest incident gets grid 3's, even when grid 4 has a newer one."""
    clock = ManualClock()
    fleet = FakeFleet([*(make_camera(i, "g3") for i in (1, 2)), *(make_camera(i, "g4") for i in (4, 5))])
    conf = IncidentsSettings.model_validate({"mqtt": {"enabled": False}, "linking": {"distance_m": 40}})
    service = build(conf, engine, fleet, tmp_path, clock)
    older = [await service.ingest(make_event(cam, clock.wall() + i)) for i, cam in enumerate(("cam-0001", "cam-0002"))]
    clock.advance(60)
    newer = [await service.ingest(make_event(cam, clock.wall() + i)) for i, cam in enumerate(("cam-0004", "cam-0005"))]
    assert older[1].incident_id is not None and newer[1].incident_id is not None
    assert [i.id for i in service.events.incidents(1)] == [newer[1].incident_id]
    assert [i.id for i in service.events.incidents(1, frozenset({"g3"}))] == [older[1].incident_id]
    assert service.events.incidents(5, frozenset({"g9"})) == []
