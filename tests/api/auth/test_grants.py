"""Grants never exceed the grantor, walked over every ``/api/users`` and ``/api/keys`` operation of the OpenAPI
schema (a new route there is walked too: a path parameter it does not know fails the test, asking for targets).

Callers scoped to grid 3 (an admin user and an admin API key) try, on each operation: to create accounts wider
than grid 3 (unscoped, grid 4, grids 3+4), to read, change or revoke accounts outside grid 3 (a global admin, a
grid 3+4 user, a grid-4 patrol, an unscoped key, a grid-4 key), and to widen an account of their own grid. Every
such try is refused (403 for a grant, 404 for an account it may not see, as if it did not exist); the controls
inside grid 3 succeed; afterwards the database shows no trace of the refused tries."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shopwatch.core.principal import Role

from ..auth_fixtures import PASSWORD, AuthKit
from .test_walk import operations

OWN = ("3",)
WIDER: list[list[str] | None] = [None, ["4"], ["3", "4"]]
ACCOUNT_ROUTES = ("/api/users", "/api/keys")


@dataclass
class Accounts:
    """Targets by path parameter: the ones outside grid 3, and one inside it."""

    outside: dict[str, list[str]]
    inside: dict[str, str]


@pytest.fixture(name="accounts")
def accounts_fixture(auth_kit: AuthKit) -> Accounts:
    make = auth_kit.auth.accounts
    make.create_user("root", PASSWORD, Role.ADMIN)
    make.create_user("wide", PASSWORD, Role.OPERATOR, ("3", "4"))
    make.create_user("patrol4", PASSWORD, Role.PATROL, ("4",))
    make.create_user("own3", PASSWORD, Role.OPERATOR, OWN)
    unscoped = make.create_key("unscoped", Role.VIEWER, None, "root").record.id
    grid4 = make.create_key("grid4", Role.PATROL, ("4",), "root").record.id
    own = make.create_key("own3", Role.VIEWER, OWN, "root").record.id
    return Accounts(
        outside={"username": ["root", "wide", "patrol4"], "key_id": [unscoped, grid4]},
        inside={"username": "own3", "key_id": own},
    )


def account_operations(app: FastAPI) -> list[tuple[str, str]]:
    ops = [(m, p) for m, p in operations(app) if p.startswith(ACCOUNT_ROUTES)]
    assert {("POST", "/api/users"), ("POST", "/api/keys"), ("PATCH", "/api/users/{username}")} <= set(ops)
    return ops


def new_account(app: FastAPI, path: str, n: int, role: str, grids: list[str] | None) -> dict[str, Any]:
    """A creation body for ``path`` from its request schema (user name and password, or a key name)."""
    ref = app.openapi()["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    fields = app.openapi()["components"]["schemas"][ref.rsplit("/", 1)[1]]["properties"]
    body: dict[str, Any] = {"role": role, "grids": grids}
    if "username" in fields:
        body |= {"username": f"made{n}", "password": PASSWORD}
    if "name" in fields:
        body["name"] = f"made{n}"
    return body


def param_of(path: str) -> str | None:
    found = re.findall(r"\{([^}]+)\}", path)
    assert len(found) <= 1, f"walk {path}: more than one path parameter"
    return found[0] if found else None


# (a PATCH with grids null leaves them as they are: it cannot widen)
WIDENING = [{"grids": g, "role": "operator"} for g in WIDER if g is not None] + [{"grids": ["4"], "enabled": True}]
ANY_CHANGE = {"password": "an attacker's new password", "enabled": False, "role": "admin", "grids": ["3"]}


async def walk(app: FastAPI, c: httpx.AsyncClient, accounts: Accounts) -> list[str]:
    """Every try on every account operation; the failures found (empty: all refused as they should be)."""
    wrong: list[str] = []
    n = 0

    def expect(response: httpx.Response, statuses: set[int]) -> None:
        if response.status_code not in statuses:
            wrong.append(f"{response.request.method} {response.request.url.path} {response.request.content!r}: "
                         f"{response.status_code}, expected {statuses}")  # fmt: skip

    for method, path in account_operations(app):
        param = param_of(path)
        if param is None and method == "POST":
            for role in ("admin", "viewer"):
                for grids in WIDER:
                    n += 1
                    expect(await c.post(path, json=new_account(app, path, n, role, grids)), {403})
            n += 1
            expect(await c.post(path, json=new_account(app, path, n, "admin", list(OWN))), {201})  # the control
        elif param is None:
            assert method == "GET", f"walk {method} {path}: add the tries for it"
            answer = await c.get(path)
            expect(answer, {200})
            listed = answer.json()
            assert listed, path
            wrong += [f"{path} lists {a}" for a in listed if a["grids"] is None or not set(a["grids"]) <= set(OWN)]
        else:
            assert param in accounts.inside, f"walk {method} {path}: which accounts does {{{param}}} name?"
            for target in accounts.outside[param]:
                concrete = path.replace(f"{{{param}}}", target)
                expect(await c.request(method, concrete, json=ANY_CHANGE if method == "PATCH" else None), {404})
            if method == "PATCH":
                concrete = path.replace(f"{{{param}}}", accounts.inside[param])
                for body in WIDENING:
                    expect(await c.patch(concrete, json=body), {403})
    return wrong


@pytest.mark.parametrize("how", ["user", "key"])
async def test_a_grid_scoped_admin_never_grants_more_than_it_holds(
    app: FastAPI, auth_kit: AuthKit, accounts: Accounts, how: str
) -> None:
    if how == "user":
        headers = auth_kit.headers("admin3", Role.ADMIN, OWN)
    else:
        key = auth_kit.auth.accounts.create_key("admin3", Role.ADMIN, OWN, "root")
        headers = {"Authorization": f"Bearer {key.plaintext}"}
    repo = auth_kit.auth.accounts.repo
    before_users = {u.username: u for u in repo.users()}
    before_keys = {k.id: k for k in repo.keys()}
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        assert await walk(app, c, accounts) == []
    # Nothing outside grid 3 changed, and everything made lies inside grid 3.
    for name in ("root", "wide", "patrol4", "own3"):
        assert repo.user_named(name) == before_users[name]
    for key_id in accounts.outside["key_id"]:
        assert repo.key(key_id) == before_keys[key_id]
    made = [a for a in [*repo.users(), *repo.keys()] if a.id not in {u.id for u in before_users.values()}
            and a.id not in before_keys]  # fmt: skip
    assert made and all(a.grids is not None and set(a.grids) <= set(OWN) for a in made), made
    assert auth_kit.auth.login("root", PASSWORD, "127.0.0.1").principal.grids is None  # its password still works


async def test_an_unscoped_admin_still_manages_every_account(
    app: FastAPI, auth_kit: AuthKit, accounts: Accounts
) -> None:
    headers = auth_kit.headers("admin")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t", headers=headers) as c:
        assert {u["username"] for u in (await c.get("/api/users")).json()} >= {"root", "wide", "patrol4", "own3"}
        assert (await c.patch("/api/users/patrol4", json={"grids": ["4", "5"]})).status_code == 200
        assert (await c.post("/api/keys", json={"name": "everywhere", "role": "admin"})).status_code == 201
        assert (await c.delete(f"/api/keys/{accounts.outside['key_id'][0]}")).status_code == 200
