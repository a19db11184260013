"""The camera wall's stills (``GET /api/cameras/{id}/still.jpg``): one ask of the fleet per camera per moment
whatever the number of consoles, ``ETag``/``304`` for a browser that has the picture, the usual 404/503; and the
event stream's ``camera`` messages (state changes, redacted reasons, only the caller's grids)."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from shopwatch.api.camera_feed import CameraStates
from shopwatch.api.stills import StillCache
from shopwatch.core.health import CameraState
from shopwatch.core.principal import Role

from .auth_fixtures import AuthKit
from .fakes import FakeFleet, jpeg_bytes, make_health, password_of


async def test_a_still_is_asked_of_the_fleet_once_for_many_consoles_and_revalidated_by_etag(
    client: httpx.AsyncClient, fleet: FakeFleet
) -> None:
    fleet.snapshots["cam-0001"] = jpeg_bytes(320, 180)
    answers = await asyncio.gather(*(client.get("/api/cameras/cam-0001/still.jpg") for _ in range(10)))
    assert {a.status_code for a in answers} == {200} and len(fleet.snapshot_calls) == 1
    first = answers[0]
    assert first.headers["content-type"] == "image/jpeg" and first.content == fleet.snapshots["cam-0001"]
    assert first.headers["cache-control"].startswith("private, max-age=")
    again = await client.get("/api/cameras/cam-0001/still.jpg", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b"" and len(fleet.snapshot_calls) == 1


async def test_a_still_that_cannot_be_had_says_why(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/cameras/cam-9999/still.jpg")).status_code == 404
    answer = await client.get("/api/cameras/cam-0003/still.jpg")  # offline: the fleet has no frame
    assert answer.status_code == 503 and "retry-after" in answer.headers
    assert password_of(3) not in answer.text


async def test_the_cache_refetches_after_its_age_and_stays_bounded() -> None:
    now = [0.0]
    cache = StillCache(max_age_s=2.0, max_entries=2, clock=lambda: now[0])
    calls: list[str] = []

    def fetcher(camera_id: str):  # type: ignore[no-untyped-def]
        async def fetch() -> bytes:
            calls.append(camera_id)
            return camera_id.encode() + bytes(len(calls))
        return fetch

    one = await cache.get("a", fetcher("a"))
    assert (await cache.get("a", fetcher("a"))) is one and calls == ["a"]
    now[0] = 2.5
    two = await cache.get("a", fetcher("a"))
    assert calls == ["a", "a"] and two.etag != one.etag
    await cache.get("b", fetcher("b"))
    await cache.get("c", fetcher("c"))
    assert len(cache) == 2  # "a", asked least recently, was dropped

    async def failing() -> bytes:
        raise TimeoutError
    with pytest.raises(TimeoutError):
        await cache.get("d", failing)
    assert len(cache) == 2  # a failure is not kept


def test_camera_messages_name_changes_only_in_the_callers_grids_without_secrets(fleet: FakeFleet) -> None:
    states = CameraStates()
    first = parse(states.changes(fleet, lambda grid: grid == "north"))
    assert [m["id"] for m in first] == ["cam-0001", "cam-0002", "cam-0003"]  # north only
    offline = next(m for m in first if m["id"] == "cam-0003")
    assert offline["state"] == "offline" and offline["why"] and password_of(3) not in offline["why"]
    assert states.changes(fleet, lambda grid: grid == "north") == ""  # nothing changed, nothing said
    cam2 = fleet.camera("cam-0002")
    assert cam2 is not None
    fleet.report(make_health(cam2, CameraState.OFFLINE))
    [change] = parse(states.changes(fleet, lambda grid: grid == "north"))
    assert change["id"] == "cam-0002" and change["state"] == "offline" and password_of(2) not in change["why"]


def parse(text: str) -> list[dict[str, str]]:
    out = []
    for block in text.split("\n\n"):
        if block:
            kind, data = block.split("\n")
            assert kind == "event: camera"
            out.append(json.loads(data.removeprefix("data: ")))
    return out


async def test_a_patrol_gets_no_still_of_another_grid(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    headers = auth_kit.headers("pat", Role.PATROL, ("south",))
    assert (await client.get("/api/cameras/cam-0001/still.jpg", headers=headers)).status_code == 404
