"""Login (token and cookie), logout, token expiry on an injected clock, disabled users, revoked keys, login rate
limits, and the audit log of it all (``GET /api/audit`` with filters and paging)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import Engine

from shopwatch.api.app import create_app
from shopwatch.api.services import Services
from shopwatch.core.access_config import AuthSettings, LoginRateLimit
from shopwatch.core.clock import ManualClock
from shopwatch.core.config import Settings
from shopwatch.core.principal import Role

from ..auth_fixtures import PASSWORD, AuthKit, open_kit
from ..fakes import small_fleet

SETTINGS = AuthSettings(
    cookie_secure=False, token_ttl_s=3600, login_rate=LoginRateLimit(window_s=60, user_failures=3, address_attempts=8)
)


@dataclass
class Env:
    client: httpx.AsyncClient
    kit: AuthKit
    clock: ManualClock

    async def login(self, username: str, password: str = PASSWORD) -> httpx.Response:
        return await self.client.post("/api/auth/login", json={"username": username, "password": password})


@pytest.fixture
async def env(auth_engine: Engine) -> AsyncIterator[Env]:
    clock = ManualClock()
    kit = open_kit(auth_engine, clock, SETTINGS)
    kit.auth.accounts.create_user("admin", PASSWORD, Role.ADMIN)
    kit.auth.accounts.create_user("alice", PASSWORD, Role.OPERATOR)
    app = create_app(Settings(), Services(small_fleet(), auth=kit.auth, audit=kit.audit))
    transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield Env(client, kit, clock)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_login_gives_a_bearer_token_and_an_httponly_cookie_that_logout_ends(env: Env) -> None:
    response = await env.login("alice")
    assert response.status_code == 200
    body = response.json()
    assert body["token"].startswith("swt_") and body["principal"]["role"] == "operator"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=3600" in cookie
    assert PASSWORD not in response.text

    assert (await env.client.get("/api/auth/me", headers=bearer(body["token"]))).json()["name"] == "alice"
    assert (await env.client.get("/api/auth/me")).json()["name"] == "alice"  # the cookie alone
    assert (await env.client.post("/api/auth/logout")).status_code == 403  # the cookie from no page: refused
    assert (await env.client.post("/api/auth/logout", headers={"Origin": "http://t"})).status_code == 204
    env.client.cookies.clear()
    assert (await env.client.get("/api/auth/me", headers=bearer(body["token"]))).status_code == 401


async def test_wrong_password_unknown_user_and_disabled_user_get_the_same_401(env: Env) -> None:
    admin = bearer((await env.login("admin")).json()["token"])
    assert (await env.client.patch("/api/users/alice", json={"enabled": False}, headers=admin)).status_code == 200
    answers = [await env.login("alice", "wrong-password"), await env.login("nobody"), await env.login("alice")]
    assert {(r.status_code, r.json()["detail"]) for r in answers} == {(401, "wrong user name or password")}


async def test_tokens_expire_on_the_clock(env: Env) -> None:
    token = (await env.login("alice")).json()["token"]
    env.clock.advance(3599)
    assert (await env.client.get("/api/cameras", headers=bearer(token))).status_code == 200
    env.clock.advance(2)
    expired = await env.client.get("/api/cameras", headers=bearer(token))
    assert expired.status_code == 401 and expired.headers["www-authenticate"] == "Bearer"


async def test_a_disabled_users_token_stops_at_the_next_request_and_a_revoked_key_too(env: Env) -> None:
    admin = bearer((await env.login("admin")).json()["token"])
    alice = bearer((await env.login("alice")).json()["token"])
    created = await env.client.post("/api/keys", json={"name": "bot", "role": "viewer"}, headers=admin)
    assert created.status_code == 201
    key = bearer(created.json()["key"])
    assert (await env.client.get("/api/cameras", headers=alice)).status_code == 200
    assert (await env.client.get("/api/cameras", headers=key)).status_code == 200

    assert (await env.client.patch("/api/users/alice", json={"enabled": False}, headers=admin)).status_code == 200
    assert (await env.client.delete(f"/api/keys/{created.json()['id']}", headers=admin)).status_code == 200
    assert (await env.client.get("/api/cameras", headers=alice)).status_code == 401
    assert (await env.client.get("/api/cameras", headers=key)).status_code == 401

    listed = (await env.client.get("/api/keys", headers=admin)).json()
    assert listed[0]["revoked_at"] is not None and "key" not in listed[0]
    users = (await env.client.get("/api/users", headers=admin)).json()
    assert all("password" not in str(u) for u in users)
    assert (await env.client.patch("/api/users/alice", json={"enabled": True}, headers=admin)).status_code == 200
    assert (await env.client.get("/api/cameras", headers=alice)).status_code == 401  # must log in again
    assert (await env.login("alice")).status_code == 200


async def test_failed_logins_of_a_user_are_limited_until_the_window_passes(env: Env) -> None:
    for _ in range(3):
        assert (await env.login("alice", "wrong-password")).status_code == 401
    limited = await env.login("alice")  # even the right password, from this address
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) == 60
    assert (await env.login("admin")).status_code == 200  # another user is not affected
    env.clock.advance(61)
    assert (await env.login("alice")).status_code == 200


async def test_a_guesser_does_not_lock_the_real_user_out_from_her_own_address(env: Env) -> None:
    for _ in range(5):  # the attacker's address
        await env.login("alice", "wrong-password")
    assert (await env.login("alice")).status_code == 429
    transport = httpx.ASGITransport(app=env.client._transport.app, client=("10.20.0.15", 40000))  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as desk:
        answer = await desk.post("/api/auth/login", json={"username": "alice", "password": PASSWORD})
    assert answer.status_code == 200


async def test_an_unknown_name_gets_the_same_answers_as_a_known_one(env: Env) -> None:
    for name in ("alice", "nobody-here"):
        answers = [(await env.login(name, "wrong-password")).status_code for _ in range(4)]
        assert answers == [401, 401, 401, 429], name


async def test_attempts_from_one_address_are_limited(env: Env) -> None:
    for i in range(8):
        assert (await env.login(f"guess-{i}")).status_code == 401
    assert (await env.login("admin")).status_code == 429
    env.clock.advance(61)
    assert (await env.login("admin")).status_code == 200


async def test_logins_and_changes_are_audited_with_who_what_and_where(env: Env) -> None:
    await env.login("alice", "wrong-password")
    admin = bearer((await env.login("admin")).json()["token"])
    body = {"username": "p3", "password": "patrol-pw-123", "role": "patrol", "grids": ["grid-3"]}
    assert (await env.client.post("/api/users", json=body, headers=admin)).status_code == 201
    assert (await env.client.post("/api/users", json=body, headers=admin)).status_code == 409
    assert (await env.client.post("/api/users", json={**body, "username": "p4", "grids": None},
                                  headers=admin)).status_code == 422  # fmt: skip
    assert (await env.client.get("/api/cameras/cam-0001/snapshot.jpg", headers=admin)).status_code == 200

    page = (await env.client.get("/api/audit", headers=admin)).json()
    got = [(e["action"], e["actor"], e["target"], e["client"]) for e in page["entries"]]
    assert got == [
        ("camera.snapshot", "admin", "cam-0001", "198.51.100.7"),
        ("user.create", "admin", "p3", "198.51.100.7"),
        ("login", "admin", "admin", "198.51.100.7"),
        ("login.failed", "alice", "alice", "198.51.100.7"),
    ]
    assert page["entries"][-1]["actor_kind"] == "anonymous" and page["entries"][0]["role"] == "admin"
    assert PASSWORD not in str(page) and "patrol-pw-123" not in str(page)


async def test_audit_filters_and_pages_backwards(env: Env) -> None:
    admin = bearer((await env.login("admin")).json()["token"])
    for _ in range(5):
        await env.client.get("/api/cameras/cam-0002/snapshot.jpg", headers=admin)
        env.clock.advance(10)

    first = await env.client.get("/api/audit", params={"action": "camera.snapshot", "limit": 2}, headers=admin)
    page = first.json()
    assert len(page["entries"]) == 2 and page["next_before_id"] == page["entries"][-1]["id"]
    seen = [e["id"] for e in page["entries"]]
    while page["next_before_id"] is not None:
        params = {"action": "camera.snapshot", "limit": 2, "before_id": page["next_before_id"]}
        page = (await env.client.get("/api/audit", params=params, headers=admin)).json()
        seen += [e["id"] for e in page["entries"]]
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)

    family = (await env.client.get("/api/audit", params={"action": "login."}, headers=admin)).json()["entries"]
    assert family == []  # the family "login." is login.failed / login.limited; "login" itself is exact
    logins = (await env.client.get("/api/audit", params={"action": "login"}, headers=admin)).json()["entries"]
    assert len(logins) == 1
    snapshots = [e["at"] for e in (await env.client.get("/api/audit", params={"action": "camera.snapshot"},
                                                        headers=admin)).json()["entries"]]  # fmt: skip
    since = snapshots[1]  # the fourth snapshot's time
    later = await env.client.get("/api/audit", params={"since": since, "action": "camera.snapshot"}, headers=admin)
    assert [e["at"] for e in later.json()["entries"]] == snapshots[:2]
    stranger = await env.client.get("/api/audit", params={"actor": "nobody"}, headers=admin)
    assert stranger.json() == {"entries": [], "next_before_id": None}
