"""The per-mount Basic credentials policy, without GStreamer (the server test covers the 401 on the wire)."""

from __future__ import annotations

import base64

import pytest

from shopwatch.sim.auth import MountCredentials, mount_of, parse_basic


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (basic("admin", "secret"), ("admin", "secret")),
        (basic("admin", "pa:ss"), ("admin", "pa:ss")),  # the first colon separates (RFC 7617)
        (basic("admin", ""), ("admin", "")),
        ("basic " + base64.b64encode(b"a:b").decode(), ("a", "b")),  # scheme is case-insensitive
        (None, None),
        ("", None),
        ('Digest username="admin"', None),
        ("Basic", None),
        ("Basic not*base64", None),
        ("Basic " + base64.b64encode(b"no-colon").decode(), None),
        ("Basic " + base64.b64encode(b"\xff\xfe:x").decode(), None),  # not UTF-8
    ],
)
def test_parse_basic(header: str | None, expected: tuple[str, str] | None) -> None:
    assert parse_basic(header) == expected


@pytest.mark.parametrize(
    ("path", "mount"),
    [("/cam-01", "cam-01"), ("/cam-01/stream=0", "cam-01"), ("cam-01/", "cam-01"), ("/", ""), (None, "")],
)
def test_mount_of(path: str | None, mount: str) -> None:
    assert mount_of(path) == mount


@pytest.mark.parametrize(
    ("mount", "header", "allowed"),
    [
        ("cam-01", None, False),
        ("cam-01", basic("admin", "secret"), True),
        ("cam-01", basic("admin", "wrong"), False),
        ("cam-01", basic("root", "secret"), False),
        ("cam-01", basic("viewer", "view"), False),  # another mount's login does not open this one
        ("cam-02", basic("viewer", "view"), True),
        ("cam-03", None, True),  # open mount
        ("cam-03", basic("anyone", "anything"), True),  # credentials sent to an open mount are ignored
    ],
)
def test_mount_credentials(mount: str, header: str | None, allowed: bool) -> None:
    creds = MountCredentials()
    creds.set("cam-01", "admin", "secret")
    creds.set("cam-02", "viewer", "view")
    assert creds.allows(mount, header) is allowed


def test_clearing_credentials_opens_the_mount() -> None:
    creds = MountCredentials()
    creds.set("cam-01", "admin", "secret")
    assert creds.is_protected("cam-01")
    creds.set("cam-01", None, None)
    assert not creds.is_protected("cam-01") and creds.allows("cam-01", None)
