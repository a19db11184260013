"""The event routes with real authentication: filters and cursor pages, pictures, the workflow (409 on an
illegal move, who and when recorded), patrol grid scoping, signed media URLs without login, deliveries and
the SSE stream with Last-Event-ID resume over a real server."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shopwatch.api.server import serve_api
from shopwatch.core.clock import SystemClock
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.core.principal import Role
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.service import IncidentService
from tests.api.auth_fixtures import AuthKit
from tests.api.fakes import FakeFleet
from tests.incidents.peers import make_event

TEAMS = {
    "teams": [{"name": "north-patrol", "grids": ["north"]}, {"name": "south-patrol", "grids": ["south"]}],
    "mqtt": {"enabled": False},
    "linking": {"enabled": False},  # the fake fleet's cameras are metres apart: linked, the feed would say so
}


@pytest.fixture
async def incidents(auth_kit: AuthKit, fleet: FakeFleet, tmp_path: Path) -> AsyncIterator[IncidentService]:
    settings = IncidentsSettings.model_validate(TEAMS)
    service = build_incidents(settings, auth_kit.engine, fleet, None, tmp_path / "data", SystemClock())
    yield service
    await service.close()


async def stored(service: IncidentService, n: int = 5) -> list[str]:
    t0 = time.time() - 100
    ids = []
    for i in range(n):
        camera = "cam-0001" if i % 2 == 0 else "cam-0004"  # north, south
        ids.append((await service.ingest(make_event(camera, t0 + 10 * i))).id)  # visits 20 s apart per camera
    return ids


async def test_list_filter_page_and_pictures(client: httpx.AsyncClient, incidents: IncidentService) -> None:
    ids = await stored(incidents)
    first = (await client.get("/api/events", params={"limit": 2})).json()
    assert [e["id"] for e in first["events"]] == [ids[4], ids[3]]
    second = (await client.get("/api/events", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [e["id"] for e in second["events"]] == [ids[2], ids[1]]
    north = (await client.get("/api/events", params={"grid": "north", "status": "new"})).json()["events"]
    assert {e["camera_id"] for e in north} == {"cam-0001"} and len(north) == 3
    assert (await client.get("/api/events", params={"cursor": "garbage!"})).status_code == 422
    event = (await client.get(f"/api/events/{ids[0]}")).json()
    assert event["teams"] == ["north-patrol"] and event["status"] == "new"
    picture = await client.get(event["snapshots"]["actor"])
    assert picture.status_code == 200 and picture.content[:2] == b"\xff\xd8"
    assert (await client.get("/api/events/nope")).status_code == 404


async def test_workflow_records_who_and_refuses_illegal_moves(
    client: httpx.AsyncClient, incidents: IncidentService, auth_kit: AuthKit
) -> None:
    (event_id,) = await stored(incidents, 1)
    url = f"/api/events/{event_id}/transitions"
    assert (await client.post(url, json={"status": "dispatched"})).status_code == 409
    ack = await client.post(url, json={"status": "acknowledged", "note": "seen"})
    assert ack.status_code == 200 and ack.json()["status"] == "acknowledged"
    assert (await client.post(url, json={"status": "dispatched", "note": "car 3"})).status_code == 200
    assert (await client.post(url, json={"status": "resolved"})).status_code == 200
    conflict = await client.post(url, json={"status": "false_positive"})
    assert conflict.status_code == 409 and "resolved" in conflict.json()["detail"]
    history = (await client.get(url)).json()
    assert [(h["to_status"], h["user"]) for h in history] == [
        ("acknowledged", "admin"), ("dispatched", "admin"), ("resolved", "admin"),
    ]  # fmt: skip
    assert history[1]["note"] == "car 3"
    assert auth_kit.entries(action="event.post_transition")


async def test_patrol_sees_and_acknowledges_its_grid_only(
    client: httpx.AsyncClient, incidents: IncidentService, auth_kit: AuthKit
) -> None:
    ids = await stored(incidents, 2)  # north, south
    patrol = auth_kit.headers("south-1", Role.PATROL, ("south",))
    listed = (await client.get("/api/events", headers=patrol)).json()["events"]
    assert [e["id"] for e in listed] == [ids[1]]
    assert (await client.get(f"/api/events/{ids[0]}", headers=patrol)).status_code == 404
    ack = {"status": "acknowledged"}
    assert (await client.post(f"/api/events/{ids[0]}/transitions", json=ack, headers=patrol)).status_code == 404
    assert (await client.post(f"/api/events/{ids[1]}/transitions", json=ack, headers=patrol)).status_code == 200
    dispatch = {"status": "dispatched"}
    assert (await client.post(f"/api/events/{ids[1]}/transitions", json=dispatch, headers=patrol)).status_code == 403
    viewer = auth_kit.headers("watcher", Role.VIEWER)
    assert (await client.post(f"/api/events/{ids[0]}/transitions", json=ack, headers=viewer)).status_code == 403
    assert (await client.get("/api/events")).status_code == 200
    assert (await client.get("/api/events", headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_signed_media_url_works_without_login(
    app: FastAPI, incidents: IncidentService, client: httpx.AsyncClient
) -> None:
    (event_id,) = await stored(incidents, 1)
    url = incidents.signer.url(event_id, "actor", time.time())
    path = url.removeprefix("http://127.0.0.1:8080")
    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    async with anonymous:
        good = await anonymous.get(path)
        assert good.status_code == 200 and good.headers["content-type"] == "image/jpeg"
        assert (await anonymous.get(path.replace("actor.jpg", "before.jpg"))).status_code == 401
        assert (await anonymous.get(path[: path.index("?")])).status_code == 401
        expired = incidents.signer.url(event_id, "actor", time.time() - 2 * 86400).removeprefix("http://127.0.0.1:8080")
        assert (await anonymous.get(expired)).status_code == 401
        assert (await anonymous.get(f"/api/events/{event_id}")).status_code == 401
    teams = (await client.get("/api/teams")).json()
    assert [t["name"] for t in teams] == ["north-patrol", "south-patrol", "supervisor"]


async def test_sse_stream_and_resume(app: FastAPI, incidents: IncidentService, auth_kit: AuthKit) -> None:
    stop = asyncio.Event()
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve_api(app, "127.0.0.1", 0, bound_port=bound, stop=stop))
    port = await bound
    headers = auth_kit.headers("admin")
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as http:
            got: list[tuple[int, str, dict[str, object]]] = []
            async with http.stream("GET", "/api/events/stream") as stream:
                lines = stream.aiter_lines()
                assert (await anext(lines)).startswith("retry:")
                ids = await stored(incidents, 2)
                await http.post(f"/api/events/{ids[0]}/transitions", json={"status": "acknowledged"})
                got = await read_messages(lines, 3)
            assert [(kind, data["id"]) for _, kind, data in got] == [
                ("created", ids[0]), ("created", ids[1]), ("transition", ids[0]),
            ]  # fmt: skip
            resume = {"Last-Event-ID": str(got[0][0])}
            async with http.stream("GET", "/api/events/stream", headers=resume) as stream:
                lines = stream.aiter_lines()
                await anext(lines)
                again = await read_messages(lines, 2)
            assert [seq for seq, _, _ in again] == [got[1][0], got[2][0]]
            assert again[1][2]["status"] == "acknowledged"
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)


async def read_messages(lines: AsyncIterator[str], count: int) -> list[tuple[int, str, dict[str, object]]]:
    out: list[tuple[int, str, dict[str, object]]] = []
    seq, kind = 0, ""
    async with asyncio.timeout(10):
        async for line in lines:
            if line.startswith("id: "):
                seq = int(line[4:])
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((seq, kind, json.loads(line[6:])))
                if len(out) == count:
                    return out
    return out


async def test_a_last_event_id_beyond_any_feed_number_is_refused_not_a_server_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/events/stream", headers={"Last-Event-ID": str(2**63)})
    assert response.status_code == 422 and "Last-Event-ID" in response.text
