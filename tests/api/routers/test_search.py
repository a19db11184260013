"""``GET /api/search`` over the hand-made street (tests/incidents/search_fixture.py) through the real app and
store: "along 长街 between 22:00 and 23:00" in the station's time answered in order with each event's camera,
distance and picture and clip links, and the tips about the street; the same by the street's line and by a
circle; a grid-scoped operator and a patrol see their grids only, a tipster may not search; pages by cursor;
bad input answers 422 naming the parameter."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from shopwatch.core.principal import Role
from shopwatch.store.events import EventRepository
from shopwatch.store.tips import TipRepository
from tests.api.auth_fixtures import AuthKit
from tests.api.fakes import FakeFleet
from tests.incidents.search_fixture import ALONG_THE_STREET, DAY, STREET_PATH, cameras, store_street

EVENING = {"date": DAY, "from": "22:00", "to": "23:00"}


@pytest.fixture
def fleet() -> FakeFleet:
    return FakeFleet(cameras())


@pytest.fixture
def street(auth_kit: AuthKit) -> None:
    store_street(EventRepository(auth_kit.engine), TipRepository(auth_kit.engine))


def ids(page: dict[str, Any]) -> list[str]:
    return [hit[hit["kind"]]["id"] for hit in page["results"]]


@pytest.mark.usefixtures("street")
async def test_along_the_street_between_22_and_23_in_order(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/search", params={"along": "长街", **EVENING})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert ids(page) == ALONG_THE_STREET
    assert (page["from"], page["to"], page["timezone"]) == (
        "2026-12-07T22:00:00+08:00", "2026-12-07T23:00:00+08:00", "Asia/Shanghai",
    )  # fmt: skip
    first = page["results"][0]
    assert first["kind"] == "event" and first["time"] == "2026-12-07T14:05:00Z"
    assert first["camera"]["id"] == "s1" and first["camera"]["address"] == "长街1号"
    assert first["event"]["snapshots"] == {"actor": "/api/events/ev-a/snapshots/actor.jpg"}
    tip = page["results"][1]
    assert tip["kind"] == "tip" and tip["tip"]["tipster"] == "vol-li"  # an admin sees who filed it
    assert [c["id"] for c in page["cameras"]] == ["s1", "s2", "s3"]

    by_line = (await client.get("/api/search", params={"path": STREET_PATH, "width_m": 60, **EVENING})).json()
    assert ids(by_line) == ALONG_THE_STREET
    assert [h["distance_m"] for h in by_line["results"]][:2] == [0.0, 11.1]
    iso = {"from": "2026-12-07T14:00:00Z", "to": "2026-12-07T23:00:00"}  # no zone: the station's
    circle = await client.get("/api/search", params={"lat": 39.9, "lon": 116.401, "radius_m": 100, **iso})
    assert ids(circle.json()) == ALONG_THE_STREET
    shop = await client.get("/api/search", params={"address": "长街3号", "radius_m": 100, **EVENING, "kinds": "events"})
    assert ids(shop.json()) == ["ev-a", "ev-b", "ev-g", "ev-c"]
    one = await client.get("/api/search", params={"camera_id": "s2", "date": DAY, "types": "card_posting,loitering"})
    assert ids(one.json()) == ["ev-b", "ev-d"]


@pytest.mark.usefixtures("street")
async def test_pages_by_cursor(client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    params: dict[str, Any] = {"along": "长街", **EVENING, "limit": 4}
    for _ in range(3):
        page = (await client.get("/api/search", params=params)).json()
        seen += ids(page)
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == ALONG_THE_STREET


@pytest.mark.usefixtures("street")
async def test_grid_scoping_and_who_may_search(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    north_desk = auth_kit.headers("north-desk", Role.OPERATOR, ("north",))
    page = (await client.get("/api/search", params={"along": "长街", **EVENING}, headers=north_desk)).json()
    assert ids(page) == ["ev-a", "tip-1", "ev-b", "ev-g"]
    assert [c["id"] for c in page["cameras"]] == ["s1", "s2"]
    patrol = auth_kit.headers("south-1", Role.PATROL, ("south",))
    page = (await client.get("/api/search", params={"along": "长街", **EVENING}, headers=patrol)).json()
    assert ids(page) == ["ev-c"]  # its grid's event; no tip it filed
    volunteer = auth_kit.headers("vol-li", Role.TIPSTER)
    assert (await client.get("/api/search", params={"along": "长街"}, headers=volunteer)).status_code == 403


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"lat": 39.9, "lon": 116.4, "radius_m": 0}, "'radius_m'"),
        ({"lat": 39.9, "lon": 116.4, "radius_m": 50_001}, "'radius_m'"),
        ({"lat": 39.9}, "'lat', 'lon'"),
        ({"along": "长街", "from": "2026-12-07T23:00+08:00", "to": "2026-12-07T22:00+08:00"}, "'from'"),
        ({"along": "长街", "from": "22:00"}, "'from'"),
        ({"along": "长街", "date": "7 Dec"}, "'date'"),
        ({"along": "长街", "types": "card_posting,graffiti"}, "'types'"),
        ({"along": "长街", "status": "lost"}, "'status'"),
        ({"along": "长街", "kinds": "incidents"}, "'kinds'"),
        ({"along": "长街", "cursor": "not-a-cursor"}, "'cursor'"),
        ({"path": "39.9,116.4"}, "'path'"),
        ({"path": "39.9,116.4;91,116.5"}, "'path': point 2"),
        ({"path": STREET_PATH, "width_m": -5}, "'width_m'"),
        ({"along": "长街", "camera_id": "s1"}, "one place"),
        ({"date": DAY}, "one place"),
    ],
)
async def test_bad_input_answers_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, Any], named: str
) -> None:
    answer = await client.get("/api/search", params=params)
    assert answer.status_code == 422 and named in answer.json()["detail"], answer.text
