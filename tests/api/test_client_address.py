"""``api.client_address``: X-Forwarded-For is believed only from a trusted proxy, read from the right; and a
client behind the proxy is limited and audited under its own address, not the proxy's or one it wrote."""

from __future__ import annotations

from ipaddress import ip_network

import httpx
import pytest

from shopwatch.api.app import create_app
from shopwatch.api.client_address import client_of
from shopwatch.api.services import Services
from shopwatch.core.config import Settings
from shopwatch.core.principal import Role

from .auth_fixtures import PASSWORD, AuthKit
from .fakes import FakeFleet

PROXY = [ip_network("10.0.0.0/30")]
LOGIN = "/api/auth/login"


@pytest.mark.parametrize(
    ("peer", "forwarded", "proxies", "client"),
    [
        ("203.0.113.9", ["1.2.3.4"], PROXY, "203.0.113.9"),  # not a proxy: the header is the client's own words
        ("10.0.0.1", ["198.51.100.7"], PROXY, "198.51.100.7"),
        ("10.0.0.1", ["6.6.6.6, 198.51.100.7"], PROXY, "198.51.100.7"),  # the client's own entry is left of it
        ("10.0.0.1", ["198.51.100.7, 10.0.0.2"], PROXY, "198.51.100.7"),  # two proxies
        ("10.0.0.1", [], PROXY, "10.0.0.1"),
        ("10.0.0.1", ["not-an-address"], PROXY, "10.0.0.1"),
        ("10.0.0.1", ["198.51.100.7"], [], "10.0.0.1"),  # no trusted proxies: never read
        (None, ["198.51.100.7"], PROXY, "unknown"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    peer: str | None, forwarded: list[str], proxies: list, client: str
) -> None:
    assert client_of(peer, forwarded, proxies) == client


async def test_logins_behind_the_proxy_are_limited_per_real_client(fleet: FakeFleet, auth_kit: AuthKit) -> None:
    settings = Settings.model_validate({"api": {"security": {"trusted_proxies": ["10.0.0.1"]}}})
    auth_kit.auth.accounts.create_user("alice", PASSWORD, Role.OPERATOR)
    app = create_app(settings, Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit))
    transport = httpx.ASGITransport(app=app, client=("10.0.0.1", 443))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        attacker = {"X-Forwarded-For": "198.51.100.66"}
        wrong = {"username": "alice", "password": "nope"}
        answers = [(await c.post(LOGIN, json=wrong, headers=attacker)).status_code for _ in range(6)]
        assert answers[-1] == 429
        desk = {"X-Forwarded-For": "10.20.0.15"}
        ok = await c.post(LOGIN, json={"username": "alice", "password": PASSWORD}, headers=desk)
        assert ok.status_code == 200
    assert {e.client for e in auth_kit.entries(action="login.failed")} == {"198.51.100.66"}
