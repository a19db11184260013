"""Grid scoping on every route: a caller scoped to grid 3 walks the whole OpenAPI schema (and the live-talk
WebSocket and the event stream) against grid 4's camera, event, incident, delivery and talk session, and the
same routes against grid 3's as the control. Grid 4's answer 404 (or the refusal grid 3 gets too, by role);
lists, the stream and the audit never name them; a broadcast never reaches a grid-4 speaker.

The walk is generic on purpose: a new route that takes one of these ids is walked without being listed here
(an id it does not know fails the test, asking for a value)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from websockets.asyncio.client import connect

from shopwatch.api.app import create_app
from shopwatch.api.server import ApiServer
from shopwatch.api.services import Services
from shopwatch.core.clock import ManualClock
from shopwatch.core.config import Settings
from shopwatch.core.events import EventType
from shopwatch.core.incident_records import StoredEvent
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.core.principal import Role
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.service import IncidentService
from shopwatch.incidents.tips import TipIn
from shopwatch.store.outbox import DeliveryQuery
from shopwatch.talkback.records import Operator, Sound, TalkRequest
from shopwatch.talkback.service import TalkbackService
from tests.api.routers.talkback_env import wav_tone
from tests.incidents.peers import make_event
from tests.talkback.harness import DAYTIME_WALL, MemorySpeakers, build_service

from ..auth_fixtures import AuthKit
from ..fakes import FakeFleet, jpeg_bytes, make_camera
from .test_walk import ENDLESS, operations

SECRET = "grid-scope-webhook-secret"
# cam-0002 (grid 3) and cam-0004 (grid 4) allow talkback (the fakes consent on even numbers); cam-0003 and
# cam-0004 are 11 m apart, so two card_posting events there are one incident.
OWN, OTHER, OTHER_NEIGHBOUR = "cam-0002", "cam-0004", "cam-0003"
SKIPPED = {
    ("GET", "/api/events/stream"): "endless: read below, over a real server",
    ("POST", "/api/auth/logout"): "would end the caller's login",
}


@dataclass
class Resources:
    """One grid's things, by the path parameter that names them."""

    camera_id: str
    event_id: str
    incident_id: str | None
    delivery_id: str
    session_id: str
    tip_id: str

    def ids(self) -> set[str]:
        found = (self.camera_id, self.event_id, self.incident_id, self.delivery_id, self.session_id, self.tip_id)
        return {v for v in found if v}


@dataclass
class World:
    app: FastAPI
    kit: AuthKit
    incidents: IncidentService
    talkback: TalkbackService
    clip_id: str
    own: Resources
    other: Resources


def fleet() -> FakeFleet:
    cameras = FakeFleet([make_camera(1, "3"), make_camera(2, "3"), make_camera(3, "4"), make_camera(4, "4")])
    for camera in cameras.cameras():
        cameras.snapshots[camera.id] = jpeg_bytes()
    return cameras


def settings() -> IncidentsSettings:
    # the dispatcher is not started
    hook = [{"url": "http://127.0.0.1:9/never", "secret": SECRET, "allow_plain_http": True}]
    return IncidentsSettings.model_validate(
        {
            "mqtt": {"enabled": False},
            "teams": [
                {"name": "grid-3", "grids": ["3"], "channels": {"webhooks": hook}},
                {"name": "grid-4", "grids": ["4"], "channels": {"webhooks": hook}},
            ],
        }
    )


async def resources(
    incidents: IncidentService, talkback: TalkbackService, clip_id: str, events: list[StoredEvent]
) -> Resources:
    """The grid's last event, its incident and first delivery, a talk session on its camera and a tip filed at
    its camera (the tip's nearby cameras reach into the other grid: 11 m away)."""
    event = events[-1]
    [delivery, *_] = incidents.outbox.find(DeliveryQuery(event_id=event.id))
    session = await talkback.play(event.camera_id, Sound.clip(clip_id), TalkRequest(Operator("command-room")))
    await asyncio.wait_for(talkback.wait_ended(session.id), 10)
    assert incidents.tips is not None
    tip = await incidents.tips.file(
        TipIn("card_posting", "贴卡", incidents.now(), camera_id=event.camera_id), "vol", "vol"
    )
    return Resources(event.camera_id, event.id, event.incident_id, delivery.id, session.id, tip.id)


@pytest.fixture
async def world(auth_kit: AuthKit, tmp_path: Path) -> AsyncIterator[World]:
    cameras = fleet()
    talkback = build_service(cameras, auth_kit.engine, tmp_path / "talk", access=MemorySpeakers().access())
    talkback.start()
    clip = await talkback.library.add("warning", "warning.wav", wav_tone(800, 0.2), "admin")
    clock = ManualClock(wall_start=DAYTIME_WALL + 60)
    incidents = build_incidents(settings(), auth_kit.engine, cameras, talkback, tmp_path / "data", clock)
    services = Services(cameras, talkback=talkback, auth=auth_kit.auth, audit=auth_kit.audit, incidents=incidents)
    app = create_app(Settings(), services)
    other = [await incidents.ingest(make_event(c, DAYTIME_WALL + i)) for i, c in enumerate([OTHER_NEIGHBOUR, OTHER])]
    own = await incidents.ingest(make_event(OWN, DAYTIME_WALL + 5, EventType.INTRUSION))
    assert other[1].incident_id is not None and own.incident_id is None
    world = World(
        app, auth_kit, incidents, talkback, clip.id,
        own=await resources(incidents, talkback, clip.id, [own]),
        other=await resources(incidents, talkback, clip.id, other),
    )  # fmt: skip
    admin = {"Authorization": f"Bearer {auth_kit.user('admin', Role.ADMIN)}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=admin) as c:
        for camera_id in (OWN, OTHER):  # audited snapshots, one per grid
            assert (await c.get(f"/api/cameras/{camera_id}/snapshot.jpg")).status_code == 200
    try:
        yield world
    finally:
        await incidents.close()
        await talkback.close()


def concrete(path: str, found: Resources, clip_id: str) -> str:
    values = {**found.__dict__, "incident_id": found.incident_id or "none", "clip_id": clip_id}
    values |= {"name": "actor", "ext": "jpg", "username": "nobody", "key_id": "0123456789abcdef"}
    values |= {"spot_id": "0123456789abcdef"}  # ignored spots: admin only, refused to both scoped callers

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        assert name in values, f"a new path parameter {{{name}}}: give the walk a grid-3 and a grid-4 value"
        return str(values[name])

    return re.sub(r"\{([^}]+)\}", value, path) + ENDLESS.get(path, "")


def body(method: str, path: str, world: World, found: Resources) -> object:
    if method != "POST":
        return None
    if path.endswith("/talkback"):
        return {"clip": world.clip_id}
    if path.endswith("/broadcast"):
        return {"clip": world.clip_id, "grid": "4" if found is world.other else "3"}
    if path.endswith("/transitions"):
        return {"status": "acknowledged", "note": "on my way"}
    return {}


def scoped_headers(kit: AuthKit, how: str) -> dict[str, str]:
    if how == "patrol user":
        return kit.headers("patrol-3", Role.PATROL, ("3",))
    key = kit.auth.accounts.create_key("ops-3", Role.OPERATOR, ("3",), "admin").plaintext
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("how", ["operator key", "patrol user"])
async def test_every_route_hides_another_grid(world: World, how: str) -> None:
    headers = scoped_headers(world.kit, how)
    hidden = world.other.ids() | {OTHER_NEIGHBOUR}
    transport = httpx.ASGITransport(app=world.app)
    answered: dict[tuple[str, str], tuple[int, int]] = {}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
        for method, path in operations(world.app):
            if (method, path) in SKIPPED or (method, path) == ("POST", "/api/auth/login"):
                continue
            statuses = []
            for found in (world.own, world.other):  # grid 3 first: the control
                url = concrete(path, found, world.clip_id)
                response = await client.request(method, url, json=body(method, path, world, found))
                statuses.append(response.status_code)
                if found is world.own or "{" not in path:  # answers about grid 3, or lists: never grid 4's ids
                    leaked = [i for i in hidden if i in response.text]
                    assert not leaked, (method, url, leaked, response.text[:300])
            answered[(method, path)] = (statuses[0], statuses[1])
            own_status, other_status = statuses
            if "{" in path and not path.startswith("/api/talkback/clips") and "{username}" not in path:
                assert other_status == 404 or (other_status == own_status and other_status >= 400), (
                    method, path, own_status, other_status,
                )  # fmt: skip
    granted = {op for op, (own_status, _) in answered.items() if own_status < 300}
    assert {("GET", "/api/cameras/{camera_id}"), ("GET", "/api/events/{event_id}")} <= granted  # the control
    assert ("GET", "/api/cameras/{camera_id}/snapshot.jpg") in granted
    if how == "operator key":
        talk = {("POST", "/api/cameras/{camera_id}/talkback"), ("GET", "/api/talkback/sessions/{session_id}")}
        assert talk <= granted
        assert answered[("POST", "/api/talkback/broadcast")] == (200, 200)  # grid 4 by grid: nobody addressed
        assert answered[("GET", "/metrics")][0] == 403  # metrics name every grid's cameras
    assert answered[("GET", "/api/events/{event_id}/deliveries")][1] == 404
    talks = [s for s in world.talkback.sessions()[1] if s.camera_id == OTHER]
    assert [s.user for s in talks] == ["command-room"]  # nobody spoke on grid 4's speaker


async def test_broadcast_by_list_refuses_the_other_grids_camera_per_camera(world: World) -> None:
    headers = scoped_headers(world.kit, "operator key")
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
        response = await client.post(
            "/api/talkback/broadcast", json={"clip": world.clip_id, "cameras": [OTHER, OWN, "cam-9999"], "grid": "4"}
        )
    assert response.status_code == 200
    result = response.json()
    got = [(r["camera_id"], r["status"]) for r in result["results"]]
    assert got == [(OTHER, 404), (OWN, 201), ("cam-9999", 404)]  # cam-0003, grid 4's other camera: not addressed
    unknown = result["results"][2]["error"]
    assert result["results"][0]["error"] == unknown.replace("cam-9999", OTHER)  # as if it did not exist
    assert (result["started"], result["refused"]) == (1, 2)


async def test_counts_and_audits_are_of_the_callers_grids(world: World) -> None:
    headers = scoped_headers(world.kit, "operator key")
    transport = httpx.ASGITransport(app=world.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
        deliveries = (await client.get("/api/deliveries")).json()
        audit = (await client.get("/api/talkback/audit")).json()
        teams = (await client.get("/api/teams")).json()
    assert [d["id"] for d in deliveries["deliveries"]] == [world.own.delivery_id]
    assert sum(deliveries["counts"].values()) == 1
    assert {e["camera_id"] for e in audit} == {OWN}
    assert [t["name"] for t in teams] == ["grid-3"]

    key = world.kit.auth.accounts.create_key("admin-3", Role.ADMIN, ("3",), "admin").plaintext
    scoped_admin = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=scoped_admin) as client:
        entries = (await client.get("/api/audit", params={"action": "camera.snapshot"})).json()["entries"]
    assert [e["target"] for e in entries] == [OWN]
    assert {e.target for e in world.kit.entries(action="camera.snapshot")} == {OWN, OTHER}  # both were recorded


async def test_live_talk_and_the_event_stream_over_a_real_server(world: World) -> None:
    headers = scoped_headers(world.kit, "operator key")
    server = ApiServer(world.app, "127.0.0.1", 0)
    serving = asyncio.create_task(server.serve())
    try:
        for camera_id, first in ((OTHER, "error"), (OWN, "session")):
            url = f"ws://127.0.0.1:{server.port}/api/cameras/{camera_id}/talkback/live?format=pcm16&rate=8000"
            async with connect(url, proxy=None, open_timeout=5, additional_headers=headers) as ws:
                message = json.loads(await asyncio.wait_for(ws.recv(), 5))
                assert message["type"] == first, message
                if first == "error":
                    assert message["status"] == 404
                    await asyncio.wait_for(ws.wait_closed(), 5)
                    assert ws.close_code == 4404
                else:
                    await ws.send(json.dumps({"type": "end"}))
                    while message["type"] != "ended":
                        message = json.loads(await asyncio.wait_for(ws.recv(), 5))
        base = f"http://127.0.0.1:{server.port}"
        async with httpx.AsyncClient(base_url=base, headers={**headers, "Last-Event-ID": "0"}, timeout=10) as http:
            async with http.stream("GET", "/api/events/stream") as stream:
                seen = await first_event_data(stream.aiter_lines())
        assert seen["id"] == world.own.event_id  # grid 4's events came first in the feed and were skipped
    finally:
        server.stop()
        await asyncio.wait_for(serving, 10)
    grid4 = [s for s in world.talkback.sessions()[1] if s.camera_id == OTHER]
    assert [s.user for s in grid4] == ["command-room"]


async def first_event_data(lines: AsyncIterator[str]) -> dict[str, object]:
    async with asyncio.timeout(10):
        async for line in lines:
            if line.startswith("data: "):
                data: dict[str, object] = json.loads(line[6:])
                return data
    raise AssertionError("the stream ended without an event")


async def test_a_cross_grid_incident_shows_the_caller_only_its_grids_cameras(world: World) -> None:
    """The same person posts in grid 4 and then in grid 3: one incident, which grid 3 sees without grid 4's
    steps, next cameras or text; the command room sees the whole path."""
    joined = await world.incidents.ingest(make_event(OWN, DAYTIME_WALL + 10))  # 11 m from cam-0003
    assert joined.incident_id is not None and joined.incident_id == world.other.incident_id
    transport = httpx.ASGITransport(app=world.app)
    admin = {"Authorization": f"Bearer {world.kit.user('admin', Role.ADMIN)}"}
    answers = {}
    for who, headers in (("grid 3", scoped_headers(world.kit, "patrol user")), ("command room", admin)):
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as client:
            listed = (await client.get("/api/incidents")).json()
            one = await client.get(f"/api/incidents/{joined.incident_id}")
        assert one.status_code == 200 and listed == [one.json()], who
        answers[who] = one.json()
    whole, scoped = answers["command room"], answers["grid 3"]
    assert [s["camera_id"] for s in whole["path"]] == [OTHER_NEIGHBOUR, OTHER, OWN]
    assert (whole["hidden_steps"], scoped["hidden_steps"]) == (0, 2)
    assert [(s["camera_id"], s["event_id"]) for s in scoped["path"]] == [(OWN, joined.id)]
    assert scoped["direction"] == whole["direction"] and OTHER in whole["text"]
    hidden = world.other.ids() - {joined.incident_id} | {OTHER_NEIGHBOUR}  # the incident is grid 3's too now
    leaked = [i for i in hidden if i in json.dumps(scoped)]
    assert not leaked, scoped
    assert scoped["text"].startswith("linked: 1 cameras (cam-0002)") and "2 more in other grids" in scoped["text"]


async def test_a_scoped_admin_sees_event_and_talk_entries_of_its_grids_only(world: World) -> None:
    """Writes on an event or a talk session name it by id; the audit records its grid, so an admin key scoped
    to grid 3 does not see what was done to grid 4's."""
    transport = httpx.ASGITransport(app=world.app)
    admin = {"Authorization": f"Bearer {world.kit.user('admin', Role.ADMIN)}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=admin) as client:
        for found in (world.own, world.other):
            moved = await client.post(f"/api/events/{found.event_id}/transitions", json={"status": "acknowledged"})
            stopped = await client.delete(f"/api/talkback/{found.session_id}")
            assert (moved.status_code, stopped.status_code) == (200, 200)
    key = world.kit.auth.accounts.create_key("admin-3", Role.ADMIN, ("3",), "admin").plaintext
    async with httpx.AsyncClient(
        transport=transport, base_url="http://t", headers={"Authorization": f"Bearer {key}"}
    ) as client:
        shown = {
            family: [
                (e["action"], e["target"])
                for e in (await client.get("/api/audit", params={"action": family})).json()["entries"]
            ]
            for family in ("event.", "talkback.")
        }
    assert shown["event."] == [("event.post_transition", world.own.event_id)]
    assert shown["talkback."] == [("talkback.cancel_session", world.own.session_id)]
    recorded = {(e.action, e.target, e.detail.get("grid")) for e in world.kit.entries(action="event.post_transition")}
    assert recorded == {
        ("event.post_transition", world.own.event_id, "3"),
        ("event.post_transition", world.other.event_id, "4"),
    }
