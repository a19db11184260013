"""End to end: the talkback API driving the real protocol modules to GStreamer's ONVIF backchannel server
(``shopwatch.sim.backchannel``), which decodes what it receives: a clip, cached TTS, live WebSocket audio, a
server killed mid-talk and a mount without a backchannel — each checked on the received audio and the audit."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from shopwatch.api.server import ApiServer
from shopwatch.sim.backchannel import BackchannelServer
from tests.api.fakes import FakeFleet
from tests.talkback.harness import speaker_camera
from tests.talkback.spectrum import peak_hz, voiced_span_s

from .talkback_env import TalkEnv, open_env, played_about
from .test_talkback_live import message, send_paced, tone16k

pytestmark = pytest.mark.rtsp
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="Debian package espeak-ng missing")


@pytest.fixture
def peer() -> Iterator[BackchannelServer]:
    with BackchannelServer(udp=False) as server:
        yield server


@pytest.fixture
async def env(sqlite_engine: Engine, tmp_path: Path, peer: BackchannelServer) -> AsyncIterator[TalkEnv]:
    fleet = FakeFleet(
        [
            speaker_camera("pcma", peer.url("pcma")),
            speaker_camera("pcmu", peer.url("pcmu")),
            speaker_camera("nobc", peer.url("nobc")),
        ]
    )
    async for value in open_env(sqlite_engine, tmp_path / "data", fleet=fleet, real_speakers=True):
        yield value


async def test_a_clip_reaches_the_speaker_with_its_pitch_and_length(env: TalkEnv, peer: BackchannelServer) -> None:
    clip_id = await env.upload(2.0, hz=1000)
    started = (await env.play_clip("pcma", clip_id)).json()

    ended = await env.ended(started["id"])
    assert (ended["state"], ended["codec"], ended["protocol"], ended["error"]) == ("completed", "PCMA", "rtsp", None)
    reception = await asyncio.to_thread(peer.wait_for_audio, "pcma", 1.9, 5.0)
    assert reception.seconds == pytest.approx(2.0, rel=0.02)
    assert peak_hz(reception.pcm) == pytest.approx(1000, abs=10)
    assert "TEARDOWN" in peer.requests()
    [entry] = (await env.client.get("/api/talkback/audit")).json()
    assert (entry["outcome"], entry["codec"], entry["protocol"]) == ("completed", "PCMA", "rtsp")
    assert played_about(entry["played_s"], 2.0)


@needs_espeak
async def test_cached_speech_reaches_the_speaker(env: TalkEnv, peer: BackchannelServer) -> None:
    body = {"text": "You are being recorded, stop posting cards.", "voice": "en"}
    await env.service.tts.speech(body["text"], body["voice"])  # synthesized once, before the request
    first = (await env.client.post("/api/cameras/pcmu/talkback", json=body)).json()
    assert env.service.tts.hits == 1
    ended = await env.ended(first["id"])
    assert ended["state"] == "completed" and ended["codec"] == "PCMU"
    reception = peer.receptions("pcmu")[-1]
    start, end = voiced_span_s(reception.pcm)
    assert end - start > 1.5
    spoken = await env.service.tts.speech(body["text"], body["voice"])
    assert reception.seconds == pytest.approx(len(spoken) / 16000, abs=0.03)  # the last frame is padded


async def test_live_websocket_audio_reaches_the_speaker(env: TalkEnv, peer: BackchannelServer) -> None:
    from websockets.asyncio.client import connect

    server = ApiServer(env.app, "127.0.0.1", 0)
    serving = asyncio.create_task(server.serve())
    try:
        url = f"ws://127.0.0.1:{server.port}/api/cameras/pcmu/talkback/live?format=pcm16&rate=16000"
        async with connect(url, proxy=None, open_timeout=5, additional_headers=env.auth.headers()) as ws:
            assert (await message(ws))["type"] == "session"
            await send_paced(ws, tone16k(1.5, hz=800), chunk=640)
            assert (await message(ws))["type"] == "started"
            await ws.send(json.dumps({"type": "end"}))
            ended = await message(ws)
        assert ended["session"]["state"] == "completed"
    finally:
        server.stop()
        await asyncio.wait_for(serving, 10)
    reception = await asyncio.to_thread(peer.wait_for_audio, "pcmu", 1.3, 5.0)
    assert reception.seconds == pytest.approx(1.5, abs=0.1)
    assert peak_hz(reception.pcm) == pytest.approx(800, abs=10)


async def test_a_speaker_lost_mid_talk_ends_failed_and_the_audit_says_so(
    env: TalkEnv, peer: BackchannelServer
) -> None:
    clip_id = await env.upload(5.0)
    started = (await env.play_clip("pcma", clip_id)).json()
    await asyncio.to_thread(peer.wait_for_audio, "pcma", 0.5, 5.0)
    await asyncio.to_thread(peer.kill)

    ended = await env.ended(started["id"])
    assert ended["state"] == "failed"
    assert ended["error"] and "peer-s3cret" not in str(ended["error"])
    assert 0.3 < float(ended["played_s"]) < 4.0  # type: ignore[arg-type]
    [entry] = (await env.client.get("/api/talkback/audit")).json()
    assert (entry["outcome"], entry["error"]) == ("failed", ended["error"])


async def test_a_mount_without_backchannel_fails_with_a_clear_error(env: TalkEnv) -> None:
    clip_id = await env.upload(0.5)
    started = (await env.play_clip("nobc", clip_id)).json()

    ended = await env.ended(started["id"])
    assert ended["state"] == "failed"
    assert "backchannel" in str(ended["error"]).lower()
    assert ended["packets"] == 0 and ended["played_s"] == 0
