"""``Origin`` checks (``api.origins``): a change made with the login cookie needs an allowed ``Origin`` (the
service's own, or one configured); a WebSocket handshake naming a foreign origin is refused 403 whatever
authenticates it; bearer tokens and API keys are not checked (a browser never sends them by itself); a JSON route
refuses a body that is not ``application/json`` (what an HTML form could post)."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient, WebSocketDenialResponse

from shopwatch.api.app import create_app
from shopwatch.api.origins import normalise
from shopwatch.api.services import Services
from shopwatch.core.config import Settings
from shopwatch.core.principal import Role

from .auth_fixtures import AuthKit
from .fakes import FakeFleet

KEYS = "/api/keys"
BODY = {"name": "made", "role": "viewer"}
TALK = "/api/cameras/cam-0002/talkback/live"


def cookie_client(app: FastAPI, auth_kit: AuthKit, base: str = "http://shopwatch.local:8080") -> httpx.AsyncClient:
    token = auth_kit.user("admin", Role.ADMIN)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base, cookies={auth_kit.auth.settings.cookie_name: token}
    )


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        (None, 403),
        ("http://evil.example", 403),
        ("http://shopwatch.local:8081", 403),  # another port is another origin
        ("null", 403),  # a sandboxed frame or a file
        ("http://shopwatch.local:8080", 201),
        ("HTTP://SHOPWATCH.LOCAL:8080", 201),
    ],
)
async def test_a_change_with_the_login_cookie_needs_the_services_own_origin(
    app: FastAPI, auth_kit: AuthKit, origin: str | None, status: int
) -> None:
    headers = {"Origin": origin} if origin else {}
    async with cookie_client(app, auth_kit) as c:
        answer = await c.post(KEYS, json=BODY, headers=headers)
        assert answer.status_code == status, answer.text
        assert (await c.get(KEYS, headers=headers)).status_code == 200  # reads are not changes
    if status == 403:
        assert "is not allowed" in answer.json()["detail"]
        assert [k.name for k in auth_kit.auth.accounts.repo.keys()] == []


async def test_a_configured_origin_is_allowed_and_bearer_callers_are_not_checked(
    fleet: FakeFleet, auth_kit: AuthKit
) -> None:
    settings = Settings.model_validate({"api": {"security": {"allowed_origins": ["https://cctv.police.example"]}}})
    app = create_app(settings, Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit))
    async with cookie_client(app, auth_kit) as c:
        proxied = await c.post(KEYS, json=BODY, headers={"Origin": "https://cctv.police.example:443"})
        assert proxied.status_code == 201
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        bearer = auth_kit.headers("admin") | {"Origin": "http://evil.example"}
        assert (await c.post(KEYS, json={**BODY, "name": "other"}, headers=bearer)).status_code == 201


async def test_a_json_route_refuses_a_body_a_form_could_post(app: FastAPI, auth_kit: AuthKit) -> None:
    async with cookie_client(app, auth_kit) as c:
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"):
            headers = {"Origin": "http://shopwatch.local:8080", "Content-Type": content_type}
            answer = await c.post(KEYS, content=b'{"name": "made", "role": "admin"}', headers=headers)
            assert answer.status_code == 422, (content_type, answer.text)
    assert auth_kit.auth.accounts.repo.keys() == []


def test_a_websocket_handshake_from_a_foreign_origin_is_refused(app: FastAPI, auth_kit: AuthKit) -> None:
    bearer = auth_kit.headers("admin")
    with TestClient(app) as client:  # its WebSockets go to ws://testserver
        for origin in ("http://evil.example", "null"):
            with pytest.raises(WebSocketDenialResponse) as denied:
                with client.websocket_connect(TALK, headers=bearer | {"Origin": origin}):
                    pass
            assert denied.value.status_code == 403
        # Its own origin (or none: a non-browser client) goes on to the route: no talkback in this app, so 503.
        for headers in (bearer | {"Origin": "http://testserver"}, bearer):
            with pytest.raises(WebSocketDenialResponse) as denied:
                with client.websocket_connect(TALK, headers=headers):
                    pass
            assert denied.value.status_code == 503, denied.value.content


@pytest.mark.parametrize(
    ("given", "expected"),
    [("https://a.example:443", "https://a.example"), ("http://A.example:80/", "http://a.example"),
     ("http://a.example:8080", "http://a.example:8080"), ("null", "null")],
)  # fmt: skip
def test_origins_compare_without_case_or_default_ports(given: str, expected: str) -> None:
    assert normalise(given) == expected
