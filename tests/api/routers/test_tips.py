"""Tips end to end through the API on the real store: a volunteer files a tip with a phone photo at a shop's
address; the nearby cameras' events in the window (with clip links) are attached, the photo is stored without
its EXIF, the volunteer's identity is shown to operators only; an operator confirms it into an incident and
marks that it led to a case, and the volunteer's record counts it. An unknown place is kept and flagged; a
too-big or non-image photo answers 413/415 and stores nothing; a chat bridge's key files for a volunteer."""

from __future__ import annotations

import base64
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from shopwatch.core.principal import Role
from shopwatch.incidents.service import IncidentService
from tests.api.auth_fixtures import AuthKit
from tests.incidents.peers import make_event
from tests.incidents.tip_pictures import phone_jpeg


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


async def test_tip_attaches_nearby_events_and_is_confirmed_into_an_incident(
    client: httpx.AsyncClient, incidents: IncidentService, auth_kit: AuthKit, tmp_path: Path
) -> None:
    now = time.time()
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0\0\0\x18ftypmp42")
    near = await incidents.ingest(replace(make_event("cam-0001", now - 600), clip_path=str(clip)))  # attached
    old = await incidents.ingest(make_event("cam-0001", now - 4 * 3600))  # hours before: not
    volunteer = auth_kit.headers("vol-li", Role.TIPSTER)
    body = {"type": "card_posting", "text": "有人在门口贴小卡片", "address": "1 Long Street", "seen_at": iso(now),
            "photos": [{"name": "p1.jpg", "data": b64(phone_jpeg())}]}  # fmt: skip
    filed = await client.post("/api/tips", json=body, headers=volunteer)
    assert filed.status_code == 201, filed.text
    tip = filed.json()
    assert (tip["status"], tip["place_from"], tip["place_resolved"], tip["camera_id"]) == (
        "candidate", "address", True, "cam-0001",
    )  # fmt: skip
    assert tip["grid"] == "north" and tip["tipster"] is None and tip["filed_by"] is None  # not to the volunteer
    assert "cam-0001" in [c["id"] for c in tip["nearby"]["cameras"]]
    attached = {e["id"]: e for e in tip["nearby"]["events"]}
    assert near.id in attached and old.id not in attached
    assert attached[near.id]["clip"] == f"/api/events/{near.id}/clip.mp4"
    photo = await client.get(tip["photos"][0], headers=volunteer)
    assert photo.status_code == 200 and photo.content[:2] == b"\xff\xd8"
    assert b"PhoneCo" not in photo.content and b"SN-8842" not in photo.content

    seen_by_operator = (await client.get(f"/api/tips/{tip['id']}", headers=auth_kit.headers("wang"))).json()
    assert (seen_by_operator["tipster"], seen_by_operator["filed_by"]) == ("vol-li", "vol-li")
    assert (await client.post(f"/api/tips/{tip['id']}/decision", json={"decision": "confirm"},
                              headers=volunteer)).status_code == 403  # fmt: skip
    confirmed = await client.post(f"/api/tips/{tip['id']}/decision", json={"decision": "confirm", "note": "属实"},
                                  headers=auth_kit.headers("wang"))  # fmt: skip
    assert confirmed.status_code == 200 and confirmed.json()["status"] == "confirmed"
    incident_id = confirmed.json()["incident_id"]
    assert (await client.get(f"/api/incidents/{incident_id}")).status_code == 200
    assert (await client.get(f"/api/events/{near.id}")).json()["incident_id"] == incident_id
    again = await client.post(f"/api/tips/{tip['id']}/decision", json={"decision": "close"},
                              headers=auth_kit.headers("wang"))  # fmt: skip
    assert again.status_code == 409
    case = await client.post(
        f"/api/tips/{tip['id']}/case", json={"led_to_case": True}, headers=auth_kit.headers("wang")
    )
    assert case.json()["led_to_case"] is True

    stats = (await client.get("/api/tips/stats", headers=auth_kit.headers("wang"))).json()
    assert {"tipster": "vol-li", "filed": 1, "confirmed": 1, "led_to_case": 1} in stats
    own = (await client.get("/api/tips/stats", headers=volunteer)).json()
    assert own == [{"tipster": "vol-li", "filed": 1, "confirmed": 1, "led_to_case": 1}]
    actions = {e.action for e in auth_kit.entries()}
    assert {"tip.file_tip", "tip.decide_tip", "tip.mark_case"} <= actions


async def test_unknown_place_is_kept_and_flagged(client: httpx.AsyncClient, auth_kit: AuthKit) -> None:
    volunteer = auth_kit.headers("vol-zhao", Role.TIPSTER)
    for body in ({"type": "hazard", "text": "井盖丢了", "address": "不存在的地方 99 号"},
                 {"type": "other", "text": "门口有可疑包裹", "camera_id": "cam-9999"}):  # fmt: skip
        answer = await client.post("/api/tips", json=body, headers=volunteer)
        assert answer.status_code == 201, answer.text
        tip = answer.json()
        assert (tip["place_resolved"], tip["place_from"], tip["grid"]) == (False, "unresolved", None)
        assert tip["text"] == body["text"] and tip["nearby"] == {"cameras": [], "events": []}
    photo_place = await client.post(
        "/api/tips", json={"type": "suspicious_person", "photos": [{"data": b64(phone_jpeg(39.9001, 116.4))}]},
        headers=volunteer,
    )  # fmt: skip
    assert photo_place.json()["place_from"] == "photo" and photo_place.json()["grid"] == "north"


@pytest.mark.parametrize(
    ("photo", "status"),
    [(b"\xff\xd8\xff" + b"\x01" * (5 * 1024 * 1024 + 10), 413), (b"%PDF-1.7 not a picture", 415)],
)
async def test_bad_photo_refused_and_nothing_stored(
    client: httpx.AsyncClient, auth_kit: AuthKit, tmp_path: Path, photo: bytes, status: int
) -> None:
    volunteer = auth_kit.headers("vol-sun", Role.TIPSTER)
    good = {"name": "ok.jpg", "data": b64(phone_jpeg())}
    body = {"type": "card_posting", "text": "x", "photos": [good, {"name": "bad", "data": b64(photo)}]}
    answer = await client.post("/api/tips", json=body, headers=volunteer)
    assert answer.status_code == status and "bad" in answer.json()["detail"]
    assert (await client.get("/api/tips", headers=auth_kit.headers("wang"))).json() == []
    assert not (tmp_path / "data" / "tips").exists() or not any((tmp_path / "data" / "tips").iterdir())


async def test_chat_bridge_key_files_for_a_volunteer_and_tipsters_see_only_their_own(
    client: httpx.AsyncClient, auth_kit: AuthKit
) -> None:
    key = auth_kit.auth.accounts.create_key("wechat-bridge", Role.TIPSTER, None, "admin").plaintext
    bridge = {"Authorization": f"Bearer {key}"}
    answer = await client.post("/api/tips", json={"type": "card_posting", "text": "群里报的", "reporter": "张三"},
                               headers=bridge)  # fmt: skip
    assert answer.status_code == 201, answer.text
    tip_id = answer.json()["id"]
    listed = (await client.get("/api/tips", headers=auth_kit.headers("wang"))).json()
    assert [t["tipster"] for t in listed] == ["key:wechat-bridge/张三"]
    user_with_reporter = await client.post(
        "/api/tips", json={"type": "other", "reporter": "李四"}, headers=auth_kit.headers("vol-li", Role.TIPSTER)
    )
    assert user_with_reporter.status_code == 422
    other = auth_kit.headers("vol-li", Role.TIPSTER)
    assert (await client.get(f"/api/tips/{tip_id}", headers=other)).status_code == 404
    assert (await client.get("/api/tips", headers=other)).json() == []
    assert (await client.get("/api/events", headers=other)).status_code == 403  # a tipster sees no cameras
