"""Fixtures: the small fake fleet, an app built from it, and an ASGI client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from shopwatch.api.app import create_app
from shopwatch.core.config import Settings
from shopwatch.core.services import Services

from .fakes import FakeFleet, small_fleet


@pytest.fixture
def fleet() -> FakeFleet:
    return small_fleet()


@pytest.fixture
def app(fleet: FakeFleet) -> FastAPI:
    return create_app(Settings(), Services(fleet))


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=10) as c:
        yield c
