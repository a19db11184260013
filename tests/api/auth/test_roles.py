"""The role matrix and grid scoping, through the real app and authenticator."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from shopwatch.core.principal import Role

from ..auth_fixtures import AuthKit

V, P, OP, A, T = Role.VIEWER, Role.PATROL, Role.OPERATOR, Role.ADMIN, Role.TIPSTER
TALK = {"clip": "0123456789abcdef"}

# (method, path, body, {role: status}). Talkback is not set up in this app: a caller let through gets 503.
MATRIX: list[tuple[str, str, object, dict[Role, int]]] = [
    ("GET", "/api/cameras", None, {V: 200, P: 200, OP: 200, A: 200, T: 403}),
    ("GET", "/api/cameras/cam-0001", None, {V: 200, P: 200, OP: 200, A: 200, T: 403}),
    ("GET", "/api/auth/me", None, {V: 200, P: 200, OP: 200, A: 200, T: 200}),
    ("GET", "/metrics", None, {V: 200, P: 403, OP: 200, A: 200, T: 403}),
    ("GET", "/api/talkback/clips", None, {V: 503, P: 403, OP: 503, A: 503, T: 403}),
    ("GET", "/api/talkback/sessions", None, {V: 503, P: 403, OP: 503, A: 503, T: 403}),
    ("POST", "/api/cameras/cam-0001/talkback", TALK, {V: 403, P: 403, OP: 503, A: 503, T: 403}),
    ("POST", "/api/talkback/broadcast", {**TALK, "grid": "north"}, {V: 403, P: 403, OP: 503, A: 503, T: 403}),
    ("DELETE", "/api/talkback/clips/0123456789abcdef", None, {V: 403, P: 403, OP: 403, A: 503, T: 403}),
    ("GET", "/api/users", None, {V: 403, P: 403, OP: 403, A: 200, T: 403}),
    ("POST", "/api/keys", {"name": "k", "role": "viewer"}, {V: 403, P: 403, OP: 403, A: 201, T: 403}),
    ("GET", "/api/audit", None, {V: 403, P: 403, OP: 403, A: 200, T: 403}),
    ("GET", "/api/tips", None, {V: 403, P: 200, OP: 200, A: 200, T: 200}),
    ("GET", "/api/tips/stats", None, {V: 403, P: 200, OP: 200, A: 200, T: 200}),
    ("POST", "/api/tips/none/decision", {"decision": "close"}, {V: 403, P: 403, OP: 404, A: 404, T: 403}),
]


@pytest.mark.parametrize("role", list(Role))
async def test_role_matrix(app: FastAPI, auth_kit: AuthKit, role: Role) -> None:
    grids = ("north",) if role is Role.PATROL else None
    headers = auth_kit.headers(f"user-{role.value}", role, grids)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        got = {
            (method, path): (await c.request(method, path, json=body)).status_code for method, path, body, _ in MATRIX
        }
    assert got == {(method, path): expected[role] for method, path, _, expected in MATRIX}


def ids(response: httpx.Response) -> list[str]:
    return [c["id"] for c in response.json()["cameras"]]


@pytest.mark.parametrize("how", ["user", "key"])
async def test_a_patrol_scoped_to_one_grid_never_sees_another(app: FastAPI, auth_kit: AuthKit, how: str) -> None:
    if how == "user":
        headers = auth_kit.headers("patrol-north", Role.PATROL, ("north",))
    else:
        key = auth_kit.auth.accounts.create_key("north-bot", Role.PATROL, ("north",), "admin").plaintext
        headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        listed = await c.get("/api/cameras")
        assert ids(listed) == ["cam-0001", "cam-0002", "cam-0003"]
        assert listed.json()["count"] == 3 and sum(listed.json()["summary"]["by_state"].values()) == 3
        assert ids(await c.get("/api/cameras", params={"grid": "south"})) == []
        assert ids(await c.get("/api/cameras", params={"q": "Shop 4"})) == []
        for path in ("/api/cameras/cam-0004", "/api/cameras/cam-0004/snapshot.jpg"):
            south = await c.get(path)
            assert south.status_code == 404 and south.json()["detail"] == "camera 'cam-0004' is not registered"
        assert (await c.get("/api/cameras/cam-0001/snapshot.jpg")).status_code == 200
        me = (await c.get("/api/auth/me")).json()
        assert (me["role"], me["grids"]) == ("patrol", ["north"])


async def test_a_viewer_key_scoped_to_a_grid_is_scoped_too(app: FastAPI, auth_kit: AuthKit) -> None:
    key = auth_kit.auth.accounts.create_key("wall-south", Role.VIEWER, ("south",), "admin").plaintext
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        listed = await c.get("/api/cameras", headers={"Authorization": f"Bearer {key}"})
    assert ids(listed) == ["cam-0004", "cam-0005", "cam-0006", "cam-0007"]


def test_admin_override_is_the_admins_only(auth_kit: AuthKit) -> None:
    from shopwatch.api.operator import current_operator
    from shopwatch.auth.users import principal_of_user

    admin = principal_of_user(auth_kit.auth.accounts.create_user("boss", "long-enough-pw", Role.ADMIN))
    operator = principal_of_user(auth_kit.auth.accounts.create_user("op", "long-enough-pw", Role.OPERATOR))
    assert (current_operator(admin).name, current_operator(admin).admin) == ("boss", True)
    assert (current_operator(operator).name, current_operator(operator).admin) == ("op", False)
