"""A hand-made street for search, shared by the service and the API tests: 长街 runs east along latitude 39.9000
with three shops (two in grid north, one in south); a lane 300 m north of it; a shop far away. Times are the
station's (Asia/Shanghai) on 2026-12-07. What "along 长街 between 22:00 and 23:00" answers was worked out by hand
from the tables below, not computed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from shopwatch.core.config import CameraConfig
from shopwatch.core.tip_records import Tip
from shopwatch.store.events import EventRepository
from shopwatch.store.tips import TipRepository
from tests.store.test_events import make_event

CST = timezone(timedelta(hours=8))
DAY = "2026-12-07"
STREET_LAT = 39.9000
# id, address, grid, (lat, lon): 0.001° of longitude here is 85.3 m; 0.0027° of latitude is 300.2 m
CAMERAS = [
    ("s1", "长街1号", "north", (39.9000, 116.4000)),
    ("s2", "长街3号", "north", (39.9000, 116.4010)),
    ("s3", "长街5号", "south", (39.9000, 116.4020)),
    ("lane", "短巷2号", "north", (39.9027, 116.4010)),  # 300 m north of the street
    ("far", "远路9号", "south", (39.9500, 116.4500)),
]
STREET_PATH = "39.9000,116.3995;39.9000,116.4025"  # 长街's line, west to east

# id, camera, type, local time, status
EVENTS = [
    ("ev-a", "s1", "card_posting", (22, 5), "new"),
    ("ev-b", "s2", "loitering", (22, 30), "acknowledged"),
    ("ev-g", "s1", "card_posting", (22, 30), "resolved"),  # the same instant as ev-b: ordered by id
    ("ev-c", "s3", "card_posting", (22, 45), "new"),  # grid south
    ("ev-d", "s2", "card_posting", (23, 1), "new"),  # after the window
    ("ev-e", "lane", "card_posting", (22, 20), "new"),  # 300 m off the street
    ("ev-f", "s1", "intrusion", (21, 59), "new"),  # before the window
    ("ev-h", "far", "card_posting", (22, 10), "new"),  # far away
]
# id, type, local time, (lat, lon) or None, camera, address, grid, filed_by
TIPS = [
    ("tip-1", "card_posting", (22, 15), (39.9001, 116.4005), None, "长街2号门口", "north", "vol-li"),  # 11 m off
    ("tip-2", "hazard", (22, 40), (39.9027, 116.4011), None, "短巷", "north", "vol-li"),  # 300 m off
    ("tip-3", "suspicious_person", (23, 30), None, "s1", "长街1号", "north", "vol-li"),  # after the window
    ("tip-4", "hazard", (22, 50), None, "s3", "长街5号", "south", "vol-wu"),  # grid south
]
ALONG_THE_STREET = ["ev-a", "tip-1", "ev-b", "ev-g", "ev-c", "tip-4"]  # 22:00-23:00, oldest first


def local(hour: int, minute: int) -> datetime:
    return datetime(2026, 12, 7, hour, minute, tzinfo=CST)


def cameras() -> list[CameraConfig]:
    return [
        CameraConfig.model_validate(
            {"id": cid, "name": f"{address}门口", "address": address, "grid": grid, "host": f"10.0.0.{n + 1}",
             "location": {"lat": lat, "lon": lon}, "merchant": {"name": f"店{n + 1}"}}
        )  # fmt: skip
        for n, (cid, address, grid, (lat, lon)) in enumerate(CAMERAS)
    ]


def store_street(events: EventRepository, tips: TipRepository) -> None:
    grids = {cid: grid for cid, _, grid, _ in CAMERAS}
    for n, (event_id, camera, type_, (hour, minute), status) in enumerate(EVENTS):
        event = make_event(n, camera=camera, grid=grids[camera], type_=type_)
        events.add(replace(event, id=event_id, start=local(hour, minute), status=status), [])
    for tip_id, type_, (hour, minute), position, camera, address, grid, filed_by in TIPS:
        seen = local(hour, minute)
        tips.add(
            Tip(
                id=tip_id, type=type_, text=f"{tip_id} text", status="candidate", filed_at=seen, seen_at=seen,
                filed_by=filed_by, tipster=filed_by, lat=position[0] if position else None,
                lon=position[1] if position else None, camera_id=camera, address=address,
                place_from="location" if position else "camera", grid=grid, photos=[],
                nearby={"cameras": [], "events": []}, incident_id=None, decided_by=None, decided_at=None, note="",
                led_to_case=False,
            )  # fmt: skip
        )
