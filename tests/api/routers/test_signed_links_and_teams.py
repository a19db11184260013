"""Two leaks closed: a signed media link with a ``sig`` that is not hex (non-ASCII, too short) answers 401 like
any wrong signature (it was a 500: ``hmac.compare_digest`` raises on non-ASCII text); webhook URLs carrying a
token in their query or userinfo are shown masked to every role but admin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from shopwatch.api.app import create_app
from shopwatch.api.services import Services
from shopwatch.core.clock import SystemClock
from shopwatch.core.config import Settings
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.core.principal import Role
from shopwatch.incidents.build import build_incidents

from ..auth_fixtures import AuthKit
from ..fakes import FakeFleet

TOKEN = "hook-token-3f9a"
SECRET = "a-signing-secret-of-32-characters"
HOOK = f"https://hooks.example/in/patrol?token={TOKEN}&channel=grid-north"


@pytest.fixture(name="teams_app")
async def teams_app_fixture(fleet: FakeFleet, auth_kit: AuthKit, tmp_path: Path) -> AsyncIterator[FastAPI]:
    settings = IncidentsSettings.model_validate(
        {
            "mqtt": {"enabled": False},
            "teams": [
                {"name": "north", "grids": ["north"], "channels": {"webhooks": [{"url": HOOK, "secret": SECRET}]}}
            ],
            "supervisor": {"webhooks": [{"url": f"https://{TOKEN}@hooks.example/sup", "secret": SECRET}]},
        }
    )
    service = build_incidents(settings, auth_kit.engine, fleet, None, tmp_path / "data", SystemClock())
    yield create_app(Settings(), Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit, incidents=service))
    await service.close()


@pytest.mark.parametrize("sig", ["é" * 64, "zz", "0" * 63, "'; drop table", "%00"])
async def test_a_signature_that_is_not_hex_is_refused_like_a_wrong_one(app: FastAPI, sig: str) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as anonymous:
        answer = await anonymous.get("/media/events/e1/actor.jpg", params={"expires": 4_000_000_000, "sig": sig})
    assert answer.status_code == 401, answer.text


@pytest.mark.parametrize("role", [Role.VIEWER, Role.PATROL, Role.OPERATOR, Role.ADMIN])
async def test_webhook_tokens_are_shown_to_admins_only(teams_app: FastAPI, auth_kit: AuthKit, role: Role) -> None:
    headers = auth_kit.headers(f"u-{role.value}", role, ("north",) if role is Role.PATROL else None)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=teams_app), base_url="http://t") as c:
        answer = await c.get("/api/teams", headers=headers)
    assert answer.status_code == 200
    hooks = [url for team in answer.json() for url in team["webhooks"]]
    if role is Role.ADMIN:
        assert HOOK in hooks
    else:
        assert TOKEN not in answer.text
        assert "https://hooks.example/in/patrol?token=***&channel=***" in hooks
