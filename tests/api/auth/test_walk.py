"""Every route of the schema, and every WebSocket route, refuses a caller without valid credentials (401),
except the two public ones; and no route ever returns a camera's credentials, whoever asks."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute
from starlette.testclient import TestClient, WebSocketDenialResponse

from shopwatch.core.principal import ROLE_PERMISSIONS, Permission, Role

from ..auth_fixtures import AuthKit
from ..fakes import FakeFleet, all_passwords

PUBLIC = {("GET", "/healthz"), ("POST", "/api/auth/login")}
BAD_CREDENTIALS: list[dict[str, str]] = [
    {},
    {"Authorization": "Bearer swt_not-a-token"},
    {"Authorization": "Bearer swk_0123456789ab_nope"},
    {"Authorization": "Basic YWRtaW46YWRtaW4="},
    {"Cookie": "shopwatch_token=swt_forged", "Origin": "http://testserver"},  # as the console's own page sends it
]


def operations(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def websocket_paths(app: FastAPI) -> list[str]:
    """Every WebSocket route's full path (FastAPI keeps included routers nested: ask each for its routes)."""
    paths = []
    for route in app.routes:
        if isinstance(route, APIWebSocketRoute):
            paths.append(route.path)
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            paths += [c.starlette_route.path for c in contexts() if isinstance(c.original_route, APIWebSocketRoute)]
    return paths


# Routes that stream until the client goes: walked with a bound (an ASGI test client reads to the end).
ENDLESS = {"/api/cameras/{camera_id}/live.mjpeg": "?seconds=0.3"}


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "cam-0001", path) + ENDLESS.get(path, "")


@pytest.mark.parametrize("headers", BAD_CREDENTIALS, ids=["none", "token", "key", "basic", "cookie"])
async def test_every_operation_but_the_public_ones_is_401_without_valid_credentials(
    app: FastAPI, headers: dict[str, str]
) -> None:
    ops = operations(app)
    assert PUBLIC <= set(ops)
    assert len(ops) > 20  # cameras, talkback, clips, users, keys, audit, auth, metrics
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as client:
        for method, path in ops:
            if (method, path) in PUBLIC:
                continue
            response = await client.request(method, concrete(path), headers=headers)
            assert response.status_code == 401, (method, path, response.text)
            # A Bearer challenge (signed media links name their own realm: their token is the URL's signature).
            assert response.headers["www-authenticate"].split(" ", 1)[0] == "Bearer", (method, path)
        assert (await client.get("/healthz")).status_code == 200
        login = await client.post("/api/auth/login", json={"username": "nobody", "password": "x"})
        assert login.status_code == 401


def test_every_websocket_route_is_denied_401_without_credentials(app: FastAPI) -> None:
    paths = websocket_paths(app)
    assert "/api/cameras/{camera_id}/talkback/live" in paths
    with TestClient(app) as client:
        for path in paths:
            for headers in BAD_CREDENTIALS:
                with pytest.raises(WebSocketDenialResponse) as denied:
                    with client.websocket_connect(concrete(path), headers=headers):
                        pass
                assert denied.value.status_code == 401, (path, headers)


@pytest.mark.parametrize("role", list(Role))
async def test_no_camera_route_returns_credentials_to_any_role(
    app: FastAPI, fleet: FakeFleet, auth_kit: AuthKit, role: Role
) -> None:
    grids = ("north", "south") if role is Role.PATROL else None
    headers = auth_kit.headers(f"u-{role.value}", role, grids)
    paths = ["/api/cameras", *[f"/api/cameras?q={quote(p)}" for p in all_passwords(fleet)[:2]]]
    for camera in fleet.cameras():
        paths += [f"/api/cameras/{camera.id}", f"/api/cameras/{camera.id}/snapshot.jpg?timeout_s=0.2"]
    camera_ops = [(m, p) for m, p in operations(app) if p.startswith("/api/cameras")]
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        responses = [await c.get(p) for p in paths]
        responses += [await c.request(m, concrete(p), json={"clip": "x"}) for m, p in camera_ops]
    if Permission.VIEW_CAMERAS in ROLE_PERMISSIONS[role]:
        assert {r.status_code for r in responses} >= {200}
    else:  # a tipster files tips and sees no camera at all
        assert {r.status_code for r in responses} == {403}
    for response in responses:
        text = response.content.decode("latin-1") + str(response.headers)
        for password in all_passwords(fleet):
            assert password not in text and quote(password) not in text, response.request.url
        assert "s3cr3t" not in text
