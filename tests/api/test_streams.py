"""Long streams (``api.streams``) over a real server: at most ``streams_per_caller`` event streams per caller
(429 past it, another caller unaffected, a slot given back when a stream ends), and a stream ends within a few
re-checks once its user is disabled or its key revoked (``recheck_s`` and the event stream's keep-alive short
here; 10 s and 15 s by default: ended within 25 s)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from shopwatch.api.app import create_app
from shopwatch.api.routers import events
from shopwatch.api.server import serve_api
from shopwatch.api.services import Services
from shopwatch.api.stream_slots import StreamSlots, TooManyStreams
from shopwatch.api.streams import StreamGuard
from shopwatch.core.config import Settings
from shopwatch.core.principal import Principal, PrincipalKind, Role
from shopwatch.incidents.service import IncidentService

from .auth_fixtures import AuthKit
from .fakes import FakeFleet

RECHECK_S = 0.2
STREAM = "/api/events/stream"


@dataclass
class Served:
    app: FastAPI
    base: str


@pytest.fixture(name="served")
async def served_fixture(
    fleet: FakeFleet, auth_kit: AuthKit, incidents: IncidentService, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Served]:
    monkeypatch.setattr(events, "KEEPALIVE_S", RECHECK_S / 2)
    settings = Settings.model_validate({"api": {"limits": {"streams_per_caller": 2, "recheck_s": RECHECK_S}}})
    app = create_app(settings, Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit, incidents=incidents))
    stop = asyncio.Event()
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    server = asyncio.create_task(serve_api(app, "127.0.0.1", 0, bound_port=bound, stop=stop))
    try:
        yield Served(app, f"http://127.0.0.1:{await bound}")
    finally:
        stop.set()
        await asyncio.wait_for(server, 10)


async def open_stream(http: httpx.AsyncClient, headers: dict[str, str]) -> tuple[httpx.Response, AsyncIterator[str]]:
    response = await http.send(http.build_request("GET", STREAM, headers=headers), stream=True)
    lines = response.aiter_lines()
    if response.status_code == 200:
        assert (await anext(lines)).startswith("retry:")
    return response, lines


async def ended(lines: AsyncIterator[str], within_s: float) -> bool:
    async with asyncio.timeout(within_s):
        async for _ in lines:
            pass
    return True


async def test_a_caller_holds_at_most_its_streams_and_gets_a_slot_back_when_one_ends(
    served: Served, auth_kit: AuthKit
) -> None:
    alice, bob = auth_kit.headers("alice", Role.VIEWER), auth_kit.headers("bob", Role.VIEWER)
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as http:
        # (the line iterators are kept: one collected closes its connection)
        first, first_lines = await open_stream(http, alice)
        second, second_lines = await open_stream(http, alice)
        third, _ = await open_stream(http, alice)
        assert (first.status_code, second.status_code, third.status_code) == (200, 200, 429)
        assert third.headers["retry-after"] == "5"
        assert json.loads(await third.aread())["kind"] == "rate_limited"  # through the one handler
        assert "at most 2 open streams" in third.text
        other, other_lines = await open_stream(http, bob)
        assert other.status_code == 200
        await first.aclose()
        for _ in range(50):  # the server notices the client went at its next write or disconnect check
            again, again_lines = await open_stream(http, alice)
            if again.status_code == 200:
                break
            await again.aclose()
            await asyncio.sleep(0.1)
        assert again.status_code == 200
        assert first_lines and second_lines and other_lines and again_lines
        for response in (second, other, again):
            await response.aclose()


@pytest.mark.parametrize("how", ["disabled user", "revoked key"])
async def test_a_stream_ends_once_its_credential_stops_working(served: Served, auth_kit: AuthKit, how: str) -> None:
    if how == "disabled user":
        headers = auth_kit.headers("carol", Role.VIEWER)
        end = lambda: auth_kit.auth.accounts.update_user("carol", enabled=False)  # noqa: E731
    else:
        key = auth_kit.auth.accounts.create_key("feed", Role.VIEWER, None, "admin")
        headers = {"Authorization": f"Bearer {key.plaintext}"}
        end = lambda: auth_kit.auth.accounts.revoke_key(key.record.id)  # noqa: E731
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as http:
        response, lines = await open_stream(http, headers)
        assert response.status_code == 200
        with pytest.raises(TimeoutError):  # still valid: the stream stays open over several re-checks
            await ended(lines, 5 * RECHECK_S)
        end()
        assert await ended(lines, 20 * RECHECK_S)
        await response.aclose()


def test_slots_count_per_caller_and_a_lease_is_given_back_once() -> None:
    slots = StreamSlots()
    a1, a2 = slots.take("user:a", 2), slots.take("user:a", 2)
    with pytest.raises(TooManyStreams):
        slots.take("user:a", 2)
    slots.take("user:b", 2)
    a1.release()
    a1.release()
    assert slots.held == {"user:a": 1, "user:b": 1}
    a2.release()
    assert slots.held == {"user:b": 1}


async def test_a_websockets_service_is_cancelled_once_its_credential_goes_and_its_slot_given_back() -> None:
    """``StreamGuard.run``, as live talk uses it: the service runs until the credential check fails."""
    valid = True
    checks = 0

    async def still_valid() -> bool:
        nonlocal checks
        checks += 1
        return valid

    cancelled = asyncio.Event()

    async def talking() -> None:
        try:
            await asyncio.Event().wait()  # a microphone that never stops
        finally:
            cancelled.set()

    slots = StreamSlots()
    limits = Settings.model_validate({"api": {"limits": {"recheck_s": 0.05}}}).api.limits
    principal = Principal(PrincipalKind.USER, "u1", "olga", Role.OPERATOR)
    guard = StreamGuard(principal, "swt_x", still_valid, limits, slots)
    run = asyncio.create_task(guard.run(talking(), guard.take()))
    await asyncio.sleep(0.3)
    assert not run.done() and checks >= 3 and slots.held == {"user:u1": 1}
    valid = False
    assert await asyncio.wait_for(run, 2) is False
    assert cancelled.is_set() and slots.held == {}
