"""/api/cameras/{id}/talkback and /api/talkback: policy, one talker per speaker, cancel, audit — through the API.

Speakers are ``MemorySpeakers`` (the real ``session.talk`` on the real clock, frames kept in memory); the
fleet is the API tests' small fleet (even cameras have consent, quiet hours 22:00-07:00 everywhere)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine

from shopwatch.core.principal import Role
from shopwatch.core.talkback_config import TalkbackSettings
from shopwatch.talkback import g711
from tests.api.fakes import password_of
from tests.talkback.spectrum import peak_hz, voiced_span_s

from .talkback_env import TalkEnv, open_env, played_about

needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian package espeak-ng missing")
ALLOWED, NO_CONSENT = "cam-0002", "cam-0001"


async def test_a_clip_plays_on_the_speaker_and_is_audited(env: TalkEnv) -> None:
    clip_id = await env.upload(0.4)
    response = await env.play_clip(ALLOWED, clip_id)

    assert response.status_code == 201, response.text
    started = response.json()
    assert (started["state"], started["user"], started["source"], started["clip_id"]) == (
        "active", "alice", "clip", clip_id
    )
    ended = await env.ended(started["id"])
    assert (ended["state"], ended["codec"], ended["protocol"], ended["error"]) == ("completed", "PCMU", "isapi", None)
    assert played_about(ended["played_s"], 0.4)
    [link] = env.speakers.links
    received = g711.decode("PCMU", b"".join(f.payload for _, f in link.sent))
    assert peak_hz(received) == pytest.approx(1000, abs=10)
    assert link.closed

    audit = (await env.client.get("/api/talkback/audit", params={"camera": ALLOWED})).json()
    assert [(a["id"], a["user"], a["source"], a["clip_id"], a["outcome"]) for a in audit] == [
        (started["id"], "alice", "clip", clip_id, "completed")
    ]
    assert audit[0]["packets"] == 20 and played_about(audit[0]["played_s"], 0.4)


@needs_espeak
async def test_text_is_spoken_and_the_second_time_comes_from_the_cache(env: TalkEnv) -> None:
    body = {"text": "请不要在这里张贴小卡片", "voice": "cmn"}
    first = await env.client.post(f"/api/cameras/{ALLOWED}/talkback", json=body)
    assert first.status_code == 201, first.text
    ended = await env.ended(first.json()["id"])
    assert (ended["source"], ended["text"], ended["voice"], ended["state"]) == ("tts", body["text"], "cmn", "completed")
    received = g711.decode("PCMU", b"".join(f.payload for _, f in env.speakers.links[0].sent))
    start, end = voiced_span_s(received)
    assert end - start > 1.0

    second = await env.client.post(f"/api/cameras/{ALLOWED}/talkback", json=body)
    assert second.status_code == 201
    assert (env.service.tts.misses, env.service.tts.hits) == (1, 1)
    await env.client.delete(f"/api/talkback/{second.json()['id']}")


async def test_no_consent_is_refused_with_the_reason_and_audited(env: TalkEnv) -> None:
    clip_id = await env.upload(0.2)
    response = await env.play_clip(NO_CONSENT, clip_id, user="bob")

    assert response.status_code == 403
    assert "not consented" in response.json()["detail"]
    assert response.json()["reasons"] == ["no_consent"]  # for clients that say it in their own words
    assert env.speakers.links == []
    [entry] = (await env.client.get("/api/talkback/audit", params={"outcome": "refused"})).json()
    assert (entry["camera_id"], entry["user"], entry["outcome"]) == (NO_CONSENT, "bob", "refused")
    assert "not consented" in entry["error"]


async def test_quiet_hours_refuse_and_an_admin_override_is_audited(env: TalkEnv) -> None:
    clip_id = await env.upload(0.2)
    env.clock.advance(7.5 * 3600)  # 16:00 -> 23:30 in Asia/Shanghai

    refused = await env.play_clip(ALLOWED, clip_id)
    assert refused.status_code == 403
    assert refused.json()["detail"] == (
        "quiet hours 22:00-07:00 on camera 'cam-0002' (local time 23:30 Asia/Shanghai)"
    )
    assert refused.json()["reasons"] == ["quiet_hours"]
    not_admin = await env.play_clip(ALLOWED, clip_id, override=True)
    assert not_admin.status_code == 403
    assert "admin" in not_admin.json()["detail"]

    overridden = await env.client.post(
        f"/api/cameras/{ALLOWED}/talkback",
        json={"clip": clip_id, "override": True},
        headers=env.auth.headers("chief", Role.ADMIN),
    )
    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["overridden"] == [refused.json()["detail"]]
    await env.ended(overridden.json()["id"])
    audit = (await env.client.get("/api/talkback/audit", params={"user": "chief"})).json()
    assert [(a["outcome"], a["overridden"]) for a in audit] == [("completed", refused.json()["detail"])]


async def test_a_busy_speaker_refuses_naming_the_holder_or_queues_within_the_bound(env: TalkEnv) -> None:
    long_clip, short_clip = await env.upload(3.0, "long"), await env.upload(0.2, "short")
    holder = (await env.play_clip(ALLOWED, long_clip, user="alice")).json()

    busy = await env.play_clip(ALLOWED, short_clip, user="bob")
    assert busy.status_code == 409
    assert busy.json()["detail"] == (
        f"speaker of camera 'cam-0002' is in use by a clip started by 'alice' (session {holder['id']})"
    )
    assert busy.json()["reasons"] == ["busy"]
    queued = [await env.play_clip(ALLOWED, short_clip, user="bob", queue=True) for _ in range(3)]
    assert [(r.status_code, r.json()["state"], r.json()["queue_position"]) for r in queued] == [
        (201, "queued", 1), (201, "queued", 2), (201, "queued", 3)
    ]
    full = await env.play_clip(ALLOWED, short_clip, user="carol", queue=True)
    assert full.status_code == 409
    assert "queue is full (3 of 3 waiting)" in full.json()["detail"]

    listed = (await env.client.get("/api/talkback/sessions")).json()
    assert [s["id"] for s in listed["active"]] == [holder["id"]] + [r.json()["id"] for r in queued]
    cancelled = await env.client.delete(f"/api/talkback/{holder['id']}")
    assert cancelled.status_code == 200
    assert cancelled.json()["state"] == "cancelled"
    assert 0 <= cancelled.json()["played_s"] < 1.0
    for r in queued:
        assert (await env.ended(r.json()["id"]))["state"] == "completed"
    assert [link.closed for link in env.speakers.links] == [True] * 4
    # One talker at a time: each session's first frame went out after the previous one's last.
    spans = [(link.sent[0][0], link.sent[-1][0]) for link in env.speakers.links]
    assert all(later[0] > earlier[1] for earlier, later in zip(spans, spans[1:], strict=False))
    outcomes = [a["outcome"] for a in (await env.client.get("/api/talkback/audit")).json()]
    assert sorted(outcomes) == sorted(["cancelled", "busy", "busy"] + ["completed"] * 3)


async def test_a_queued_request_can_be_cancelled_before_it_plays(env: TalkEnv) -> None:
    clip_id = await env.upload(1.0)
    holder = (await env.play_clip(ALLOWED, clip_id)).json()
    waiting = (await env.play_clip(ALLOWED, clip_id, queue=True)).json()

    cancelled = await env.client.delete(f"/api/talkback/{waiting['id']}")
    assert cancelled.json()["state"] == "cancelled"
    assert (await env.ended(holder["id"]))["state"] == "completed"
    assert len(env.speakers.links) == 1
    assert (await env.client.delete("/api/talkback/no-such-session")).status_code == 404


async def test_unknown_camera_clip_and_bad_bodies(env: TalkEnv) -> None:
    clip_id = await env.upload(0.2)
    assert (await env.play_clip("cam-9999", clip_id)).status_code == 404
    missing = await env.play_clip(ALLOWED, "0123456789abcdef")
    assert missing.status_code == 404
    assert missing.json()["detail"] == "clip '0123456789abcdef' is not in the library"
    assert (await env.play_clip(ALLOWED, "../../etc/passwd")).status_code == 404
    for body in ({}, {"clip": clip_id, "text": "hi"}, {"text": "   "}, {"text": "hi", "voice": "x; rm"}, {"x": 1}):
        assert (await env.client.post(f"/api/cameras/{ALLOWED}/talkback", json=body)).status_code == 422, body
    not_a_token = {"Authorization": "Bearer " + "x" * 200}
    assert (await env.client.post(f"/api/cameras/{ALLOWED}/talkback", headers=not_a_token,
                                  json={"clip": clip_id})).status_code == 401  # fmt: skip


async def test_a_device_failure_ends_the_session_failed_with_a_redacted_error(env: TalkEnv) -> None:
    clip_id = await env.upload(1.0)
    env.speakers.fail_after = 10
    started = (await env.play_clip(ALLOWED, clip_id)).json()

    ended = await env.ended(started["id"])
    assert ended["state"] == "failed"
    assert "broke mid-talk" in str(ended["error"])
    assert ended["packets"] == 10
    [entry] = (await env.client.get("/api/talkback/audit")).json()
    assert entry["outcome"] == "failed" and entry["packets"] == 10
    everything = (await env.client.get("/api/talkback/audit")).text + str(ended)
    assert password_of(2) not in everything


async def test_broadcast_to_a_grid_answers_per_camera(env: TalkEnv) -> None:
    clip_id = await env.upload(0.2)
    response = await env.client.post("/api/talkback/broadcast", json={"clip": clip_id, "grid": "north"})

    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["camera_id"], r["status"]) for r in body["results"]] == [
        ("cam-0001", 403), ("cam-0002", 201), ("cam-0003", 403)
    ]
    assert (body["started"], body["refused"]) == (1, 2)
    session = body["results"][1]["session"]
    assert session["broadcast_id"] == body["broadcast_id"]
    listed = await env.client.post(
        "/api/talkback/broadcast", json={"clip": clip_id, "cameras": ["cam-0004", "cam-0002", "nope"]}
    )
    assert [(r["camera_id"], r["status"]) for r in listed.json()["results"]] == [
        ("cam-0004", 201), ("cam-0002", 409), ("nope", 404)
    ]
    assert (await env.client.post("/api/talkback/broadcast", json={"clip": clip_id})).status_code == 422


@pytest.fixture
async def short_sessions_env(sqlite_engine: Engine, tmp_path: Path) -> AsyncIterator[TalkEnv]:
    async for value in open_env(sqlite_engine, tmp_path / "data", TalkbackSettings(max_session_s=0.3)):
        yield value


async def test_a_session_stops_at_the_maximum_duration(short_sessions_env: TalkEnv) -> None:
    env = short_sessions_env
    clip_id = await env.upload(2.0)
    started = (await env.play_clip(ALLOWED, clip_id)).json()

    ended = await env.ended(started["id"])
    assert ended["state"] == "truncated"
    assert played_about(ended["played_s"], 0.3)
    assert ended["packets"] == 15


async def test_audit_time_filters(env: TalkEnv) -> None:
    clip_id = await env.upload(0.2)
    await env.play_clip(NO_CONSENT, clip_id)
    requested = datetime.fromtimestamp(env.clock.wall(), UTC)

    before = (await env.client.get("/api/talkback/audit", params={"until": requested.isoformat()})).json()
    at = (await env.client.get("/api/talkback/audit", params={"since": requested.replace(tzinfo=None).isoformat()}))
    assert before == []
    assert [a["camera_id"] for a in at.json()] == [NO_CONSENT]
    assert (await env.client.get("/api/talkback/audit", params={"limit": 0})).status_code == 422
