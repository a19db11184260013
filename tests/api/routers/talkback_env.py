"""Fixtures for the talkback API tests: the real service on a migrated SQLite file, speakers in memory
(``MemorySpeakers``) or the GStreamer peer, an ASGI client, and small audio files to upload."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from shopwatch.api.app import create_app
from shopwatch.api.services import Services
from shopwatch.core.clock import ManualClock
from shopwatch.core.config import Settings
from shopwatch.core.talkback_config import TalkbackSettings
from shopwatch.store.db import create_engine_for, migrate
from shopwatch.talkback.service import SpeakerAccess, TalkbackService
from tests.api.auth_fixtures import AuthKit, open_kit
from tests.api.fakes import FakeFleet, small_fleet
from tests.talkback.harness import DAYTIME_WALL, MemorySpeakers, build_service

LATE_S = 0.3  # played_s is measured on the clock: a loaded machine (2 shared cores) wakes the pacer late


def played_about(played_s: object, seconds: float) -> bool:
    """``played_s`` is the sound's length, give or take scheduling lateness (never much shorter)."""
    return seconds - 0.03 <= float(played_s) <= seconds + LATE_S  # type: ignore[arg-type]


def wav_tone(hz: float, seconds: float, rate: int = 16_000) -> bytes:
    """A mono 16-bit WAV file (at a rate the service must resample from)."""
    t = np.arange(int(seconds * rate)) / rate
    samples = (np.sin(2 * np.pi * hz * t) * 0.5 * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return out.getvalue()


@dataclass
class TalkEnv:
    app: FastAPI
    client: httpx.AsyncClient
    service: TalkbackService
    speakers: MemorySpeakers
    clock: ManualClock
    fleet: FakeFleet
    auth: AuthKit  # the client signs in as operator "operator"; auth.headers(name) for others

    async def upload(self, seconds: float, name: str = "warning", hz: float = 1000) -> str:
        response = await self.client.post(
            "/api/talkback/clips", params={"name": name, "filename": "warning.wav"}, content=wav_tone(hz, seconds),
            headers=self.auth.headers("admin"),
        )  # fmt: skip
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def play_clip(self, camera_id: str, clip_id: str, user: str = "alice", **body: object) -> httpx.Response:
        return await self.client.post(
            f"/api/cameras/{camera_id}/talkback", json={"clip": clip_id, **body}, headers=self.auth.headers(user)
        )

    async def ended(self, session_id: str, timeout_s: float = 10.0) -> dict[str, object]:
        """The session's public view once it has ended."""
        await asyncio.wait_for(self.service.wait_ended(session_id), timeout_s)
        response = await self.client.get(f"/api/talkback/sessions/{session_id}")
        assert response.status_code == 200
        body: dict[str, object] = response.json()
        return body


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'db' / 'shopwatch.db'}")
    migrate(engine)
    return engine


async def open_env(
    engine: Engine,
    data_dir: Path,
    settings: TalkbackSettings | None = None,
    *,
    fleet: FakeFleet | None = None,
    real_speakers: bool = False,
) -> AsyncIterator[TalkEnv]:
    """The app and service; speakers in memory, or the real protocol modules with ``real_speakers``."""
    fleet = fleet or small_fleet()
    speakers = MemorySpeakers()
    clock = ManualClock(wall_start=DAYTIME_WALL)
    access = SpeakerAccess() if real_speakers else speakers.access()
    service = build_service(fleet, engine, data_dir, access=access, clock=clock, settings=settings)
    service.start()
    kit = open_kit(engine)
    app = create_app(Settings(), Services(fleet, talkback=service, auth=kit.auth, audit=kit.audit))
    transport = httpx.ASGITransport(app=app)
    headers = kit.headers("operator")
    try:
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=15, headers=headers)
        async with client:
            yield TalkEnv(app, client, service, speakers, clock, fleet, kit)
    finally:
        await service.close()
        engine.dispose()


@pytest.fixture
async def env(sqlite_engine: Engine, tmp_path: Path) -> AsyncIterator[TalkEnv]:
    async for value in open_env(sqlite_engine, tmp_path / "data"):
        yield value
