"""Fixtures: the small fake fleet, an app built from it with the real authenticator, and an ASGI client that
signs in as an admin (``auth_kit`` gives headers for other users and roles)."""

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
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.service import IncidentService

from .auth_fixtures import AuthKit, auth_engine_fixture, auth_kit_fixture, migrated_template_fixture  # noqa: F401
from .fakes import FakeFleet, small_fleet


@pytest.fixture
def fleet() -> FakeFleet:
    return small_fleet()


@pytest.fixture
async def incidents(fleet: FakeFleet, auth_kit: AuthKit, tmp_path: Path) -> AsyncIterator[IncidentService]:
    """The real incident store on the auth kit's database; no MQTT broker, nothing linked."""
    settings = IncidentsSettings.model_validate({"mqtt": {"enabled": False}, "linking": {"enabled": False}})
    service = build_incidents(settings, auth_kit.engine, fleet, None, tmp_path / "data", SystemClock())
    yield service
    await service.close()


@pytest.fixture
def app(fleet: FakeFleet, auth_kit: AuthKit, incidents: IncidentService) -> FastAPI:
    return create_app(Settings(), Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit, incidents=incidents))


@pytest.fixture
async def client(app: FastAPI, auth_kit: AuthKit) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    headers = auth_kit.headers("admin")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=10, headers=headers) as c:
        yield c
