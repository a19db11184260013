"""``GET /api/stats`` over the hand-counted week (tests/store/stats_fixture.py): changes in count and percent
(null against 0), precision per camera from verdicts, hot spots, the station's hours, the tips of the week; a
grid-scoped operator counts only its grids and a patrol may not ask; bad dates answer 422 naming the field."""

from __future__ import annotations

import httpx

from shopwatch.core.principal import Role
from shopwatch.store.events import EventRepository
from shopwatch.store.tips import TipRepository
from tests.api.auth_fixtures import AuthKit
from tests.store.stats_fixture import SINCE, UNTIL, store_fixture, store_tips

WEEK = {"from": SINCE.isoformat(), "to": UNTIL.isoformat()}


def _row(rows: list[dict], key: object) -> dict:  # type: ignore[type-arg]
    (found,) = [r for r in rows if r["key"] == key]
    return found


async def test_stats_of_the_week_against_the_week_before(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    store_fixture(EventRepository(auth_kit.engine))
    answer = await client.get("/api/stats", params=WEEK)
    assert answer.status_code == 200, answer.text
    stats = answer.json()
    assert stats["timezone"] == "Asia/Shanghai" and stats["previous_from"] == "2026-11-02T00:00:00+08:00"
    total = stats["total"]
    assert total["current"] == {"events": 8, "confirmed": 3, "false_positives": 2, "incidents": 2}
    assert total["change"]["events"] == {"count": 5, "percent": 166.7}  # 8 against 3
    assert total["change"]["false_positives"] == {"count": 1, "percent": 100.0}
    south = _row(stats["by_grid"], "south")
    assert south["change"]["events"] == {"count": 1, "percent": 50.0}
    assert south["change"]["confirmed"] == {"count": 0, "percent": None}  # 0 against 0
    loitering = _row(stats["by_type"], "loitering")
    assert loitering["change"]["events"] == {"count": 1, "percent": None}  # none the week before
    assert _row(stats["by_hour"], 0)["change"]["events"] == {"count": -1, "percent": -100.0}
    assert _row(stats["by_weekday"], 6)["current"]["events"] == 1  # Saturday 07:59 in the station
    assert [(s["camera_id"], s["zone"], s["card_postings"]) for s in stats["hot_spots"]] == [
        ("cam-a", "wall", 3),
        ("cam-c", "wall", 2),
    ]
    precision = {c["camera_id"]: c["precision"] for c in stats["cameras"]}
    assert precision == {"cam-a": 0.6667, "cam-b": 1.0, "cam-c": 0.0, "cam-d": None}


async def test_tips_of_the_week(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    store_tips(TipRepository(auth_kit.engine))
    tips = (await client.get("/api/stats", params=WEEK)).json()["tips"]
    assert tips["total"]["current"] == {"filed": 4, "confirmed": 2, "led_to_case": 1}
    assert tips["total"]["change"]["filed"] == {"count": 2, "percent": 100.0}  # 4 against 2
    assert [r["key"] for r in tips["by_grid"]] == ["north", "south", None]
    assert _row(tips["by_type"], "hazard")["change"]["filed"] == {"count": -1, "percent": -100.0}
    assert _row(tips["by_hour"], 21)["change"]["confirmed"] == {"count": 1, "percent": None}
    assert _row(tips["by_weekday"], 6)["current"]["filed"] == 1  # Saturday 07:30 in the station
    south_desk = auth_kit.headers("south-desk", Role.OPERATOR, ("south",))
    scoped = (await client.get("/api/stats", params=WEEK, headers=south_desk)).json()["tips"]
    assert [r["key"] for r in scoped["by_grid"]] == ["south"] and scoped["total"]["current"]["filed"] == 1


async def test_grid_scoped_callers(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    store_fixture(EventRepository(auth_kit.engine))
    south_desk = auth_kit.headers("south-desk", Role.OPERATOR, ("south",))
    stats = (await client.get("/api/stats", params=WEEK, headers=south_desk)).json()
    assert [r["key"] for r in stats["by_grid"]] == ["south"]
    assert stats["total"]["current"]["events"] == 3
    assert {c["camera_id"] for c in stats["cameras"]} == {"cam-c", "cam-d"}
    asked_north = (await client.get("/api/stats", params={**WEEK, "grid": "north"}, headers=south_desk)).json()
    assert asked_north["total"]["current"]["events"] == 0 and asked_north["by_grid"] == []
    patrol = auth_kit.headers("south-1", Role.PATROL, ("south",))
    assert (await client.get("/api/stats", params=WEEK, headers=patrol)).status_code == 403


async def test_bad_dates_answer_422_naming_the_field(client: httpx.AsyncClient) -> None:
    backwards = await client.get("/api/stats", params={"from": WEEK["to"], "to": WEEK["from"]})
    assert backwards.status_code == 422 and "'from'" in backwards.json()["detail"]
    garbled = await client.get("/api/stats", params={"from": "next tuesday", "to": WEEK["to"]})
    assert garbled.status_code == 422 and "from" in str(garbled.json()["detail"])
    missing = await client.get("/api/stats", params={"from": WEEK["from"]})
    assert missing.status_code == 422 and "to" in str(missing.json()["detail"])
    naive = await client.get("/api/stats", params={"from": "2026-11-09T00:00:00", "to": WEEK["to"]})
    assert naive.status_code == 422 and "'from'" in naive.json()["detail"]
