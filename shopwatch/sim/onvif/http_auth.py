"""HTTP Digest (RFC 7616, MD5, qop=auth) and Basic (RFC 7617) checks for the simulated snapshot URL: cameras
offer one or the other, and the client has to answer whichever is offered."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re

REALM = "shopwatch-sim-onvif"
_PARAM_RE = re.compile(r'(\w+)=(?:"([^"]*)"|([^\s,]+))')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # noqa: S324 - RFC 7616 MD5, what cameras offer


class DigestChallenge:
    """Issues nonces and checks Digest answers for one username/password."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self.password = password
        self._nonces: set[str] = set()

    def header(self) -> str:
        nonce = os.urandom(16).hex()
        if len(self._nonces) > 1024:  # bounded: old nonces are forgotten, their holders get a new challenge
            self._nonces.clear()
        self._nonces.add(nonce)
        return f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", algorithm=MD5'

    def allows(self, method: str, authorization: str | None) -> bool:
        if not authorization or not authorization.startswith("Digest "):
            return False
        params = {m[0]: m[1] or m[2] for m in _PARAM_RE.findall(authorization[len("Digest ") :])}
        if params.get("nonce") not in self._nonces or params.get("username") != self.username:
            return False
        ha1 = _md5(f"{self.username}:{REALM}:{self.password}")
        ha2 = _md5(f"{method}:{params.get('uri', '')}")
        if params.get("qop") == "auth":
            expected = _md5(f"{ha1}:{params['nonce']}:{params.get('nc', '')}:{params.get('cnonce', '')}:auth:{ha2}")
        else:
            expected = _md5(f"{ha1}:{params['nonce']}:{ha2}")
        return hmac.compare_digest(expected, params.get("response", ""))


def basic_allows(authorization: str | None, username: str, password: str) -> bool:
    if not authorization or not authorization.startswith("Basic "):
        return False
    try:
        user, _, given = base64.b64decode(authorization[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(user.encode(), username.encode()) and hmac.compare_digest(
        given.encode(), password.encode()
    )
