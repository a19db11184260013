"""WS /api/cameras/{id}/talkback/live on a real server (uvicorn on an ephemeral port) with a websockets client:
live audio in, frames out, preemption of a clip, one live operator per speaker, clean end on close."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Engine
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from shopwatch.api.deps import get_context
from shopwatch.api.server import ApiServer
from shopwatch.core.config import Settings
from shopwatch.talkback import g711
from tests.talkback.spectrum import peak_hz

from .talkback_env import TalkEnv, open_env, played_about

ALLOWED = "cam-0002"


class LiveEnv:
    def __init__(self, env: TalkEnv, port: int) -> None:
        self.env = env
        self.port = port

    def connect(self, camera_id: str = ALLOWED, user: str = "op1", query: str = "") -> Any:
        url = f"ws://127.0.0.1:{self.port}/api/cameras/{camera_id}/talkback/live{query}"
        return connect(url, additional_headers=self.env.auth.headers(user), proxy=None, open_timeout=5)


@pytest.fixture
async def live(sqlite_engine: Engine, tmp_path: Path) -> AsyncIterator[LiveEnv]:
    async for env in open_env(sqlite_engine, tmp_path / "data"):
        server = ApiServer(env.app, "127.0.0.1", 0)
        task = asyncio.create_task(server.serve())
        try:
            yield LiveEnv(env, server.port)
        finally:
            server.stop()
            await asyncio.wait_for(task, 10)


async def message(ws: ClientConnection, timeout_s: float = 5.0) -> dict[str, Any]:
    text = await asyncio.wait_for(ws.recv(), timeout_s)
    assert isinstance(text, str)
    body: dict[str, Any] = json.loads(text)
    return body


def tone16k(seconds: float, hz: float = 1000) -> bytes:
    t = np.arange(int(seconds * 16_000)) / 16_000
    return (np.sin(2 * np.pi * hz * t) * 0.5 * 32767).astype("<i2").tobytes()


async def send_paced(ws: ClientConnection, pcm: bytes, chunk: int) -> None:
    """Chunks of ``chunk`` bytes at real-time pace (a microphone), 16 kHz PCM16."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(0, len(pcm), chunk):
        await asyncio.sleep(max(0.0, start + i / 32_000 - loop.time()))
        await ws.send(pcm[i : i + chunk])


async def test_live_voice_preempts_a_clip_plays_and_ends_when_the_client_says_so(live: LiveEnv) -> None:
    env = live.env
    clip = (await env.play_clip(ALLOWED, await env.upload(3.0, hz=500), user="alice")).json()
    await asyncio.sleep(0.3)
    env.clock.advance(0.3)

    async with live.connect(query="?format=pcm16&rate=16000") as ws:
        opened = await message(ws)
        assert opened["type"] == "session"
        assert (opened["session"]["source"], opened["session"]["user"]) == ("live", "op1")
        preempted = await env.ended(clip["id"])
        assert preempted["state"] == "preempted"
        assert 0.2 < float(preempted["played_s"]) < 1.5  # type: ignore[arg-type]

        sender = asyncio.create_task(send_paced(ws, tone16k(1.0), chunk=640))
        assert await message(ws) == {"type": "started", "codec": "PCMU", "protocol": "isapi"}
        await sender
        await ws.send(json.dumps({"type": "end"}))
        ended = await message(ws)
        assert ended["type"] == "ended"
        assert ended["session"]["state"] == "completed"
        assert played_about(ended["session"]["played_s"], 1.0)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 1000

    clip_link, live_link = env.speakers.links
    assert clip_link.closed and live_link.closed
    assert live_link.sent[0][0] > clip_link.sent[-1][0]  # never two talkers on one speaker
    received = g711.decode("PCMU", b"".join(f.payload for _, f in live_link.sent))
    assert peak_hz(received) == pytest.approx(1000, abs=10)
    audit = (await env.client.get("/api/talkback/audit")).json()
    assert [(a["source"], a["user"], a["outcome"]) for a in audit] == [
        ("live", "op1", "completed"), ("clip", "alice", "preempted")
    ]


async def test_a_second_live_operator_is_refused_naming_the_holder(live: LiveEnv) -> None:
    async with live.connect(user="op1") as first:
        holder = (await message(first))["session"]
        async with live.connect(user="op2") as second:
            refused = await message(second)
            assert refused == {
                "type": "error",
                "status": 409,
                "detail": f"speaker of camera 'cam-0002' is held by live operator 'op1' (session {holder['id']})",
                "reasons": ["busy_live"],  # the console says it in the operator's language
            }
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(second.recv(), 5)
            assert second.close_code == 4409


async def test_closing_the_socket_ends_the_session_cleanly(live: LiveEnv) -> None:
    env = live.env
    async with live.connect(query="?format=pcmu") as ws:
        session = (await message(ws))["session"]
        silence = g711.encode("PCMU", bytes(320 * 10))
        for i in range(0, len(silence), 160):
            await ws.send(silence[i : i + 160])
        assert (await message(ws))["type"] == "started"
    ended = await env.ended(session["id"])
    assert ended["state"] == "completed"
    assert env.speakers.links[0].closed


@pytest.mark.parametrize(
    ("camera_id", "query", "close_code", "detail"),
    [
        ("cam-0001", "", 4403, "the merchant has not consented to talkback on camera 'cam-0001'"),
        ("cam-9999", "", 4404, "camera 'cam-9999' is not registered"),
        (ALLOWED, "?format=pcmu&rate=16000", 4422, "expected rate 8000 for pcmu, found 16000"),
    ],
)
async def test_refusals_say_why_then_close(
    live: LiveEnv, camera_id: str, query: str, close_code: int, detail: str
) -> None:
    async with live.connect(camera_id, query=query) as ws:
        refused = await message(ws)
        assert (refused["type"], refused["status"], refused["detail"]) == ("error", close_code - 4000, detail)
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == close_code


async def test_a_caller_holding_all_its_streams_is_refused_429_then_closed(live: LiveEnv) -> None:
    live.env.auth.headers("op1")  # creates op1
    user = live.env.auth.auth.accounts.repo.user_named("op1")
    assert user is not None
    slots = get_context(SimpleNamespace(app=live.env.app)).stream_slots  # type: ignore[arg-type]
    cap = Settings().api.limits.streams_per_caller
    held = [slots.take(f"user:{user.id}", cap) for _ in range(cap)]  # op1's event streams and live views
    async with live.connect(user="op1") as ws:
        refused = await message(ws)
        assert (refused["status"], refused["detail"]) == (429, f"expected at most {cap} open streams per caller; "
                                                                "close one first")  # fmt: skip
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 5)
        assert ws.close_code == 4429
    held[0].release()
    async with live.connect(user="op1") as ws:  # one given back: op1 talks again
        assert (await message(ws))["type"] == "session"
