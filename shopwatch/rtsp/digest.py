"""HTTP/RTSP authentication without I/O: Basic (RFC 7617) and Digest (RFC 7616, MD5 and SHA-256, qop=auth).

Cameras challenge RTSP requests the HTTP way (RFC 2326 section 16.29) and ISAPI/Dahua CGIs use Digest. A
client keeps one ``DigestSigner`` per device: after the first 401 every later request is signed at once
(nonce count incremented), which matters for streamed uploads that cannot be replayed.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass

from shopwatch.core.errors import DeviceNotSupported

_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?')
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


class AuthUnsupported(DeviceNotSupported):
    """The peer asks for a scheme or algorithm we do not speak (message names it, never the password)."""


@dataclass(frozen=True)
class Challenge:
    scheme: str  # "digest" or "basic"
    params: dict[str, str]


def parse_challenges(values: list[str]) -> list[Challenge]:
    """``WWW-Authenticate`` header values -> challenges (one header may hold one challenge each here)."""
    out: list[Challenge] = []
    for value in values:
        scheme, _, rest = value.strip().partition(" ")
        params = {m[1].lower(): (m[2] if m[2] is not None else m[3]).replace('\\"', '"') for m in
                  _PARAM_RE.finditer(rest)}  # fmt: skip
        out.append(Challenge(scheme.lower(), params))
    return out


class DigestSigner:
    """Signs requests for one user on one device, from the latest challenge it was given."""

    def __init__(self, username: str, password: str) -> None:
        self.username = username
        self._password = password
        self._challenge: Challenge | None = None
        self._nonce_count = 0

    @property
    def has_challenge(self) -> bool:
        return self._challenge is not None

    def challenge(self, header_values: list[str]) -> None:
        """Take the server's 401 challenges, preferring Digest; ``AuthUnsupported`` when none is usable."""
        challenges = parse_challenges(header_values)
        for wanted in ("digest", "basic"):
            for ch in challenges:
                if ch.scheme == wanted and (wanted == "basic" or _usable_digest(ch)):
                    self._challenge, self._nonce_count = ch, 0
                    return
        schemes = ", ".join(f"{c.scheme} {c.params.get('algorithm', '')}".strip() for c in challenges) or "none"
        raise AuthUnsupported(f"expected a Basic or Digest (MD5, SHA-256) challenge, found {schemes}")

    def rechallenge(self, header_values: list[str]) -> bool:
        """Take a 401 answered to a request already signed: True when it is worth one more try, because the
        server changed the nonce (``stale=true``, RFC 7616 section 3.3, or simply a new one: many cameras
        expire nonces after a while or a number of uses and say nothing). False means the credentials are
        wrong: the same nonce refused again. ``AuthUnsupported`` as for ``challenge``."""
        before = self._challenge.params.get("nonce") if self._challenge is not None else None
        self.challenge(header_values)
        assert self._challenge is not None
        stale = self._challenge.params.get("stale", "").lower() == "true"
        return stale or (self._challenge.scheme == "digest" and self._challenge.params.get("nonce") != before)

    def authorization(self, method: str, uri: str) -> str | None:
        """The ``Authorization`` value for this request, or None before any challenge."""
        ch = self._challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            token = base64.b64encode(f"{self.username}:{self._password}".encode()).decode("ascii")
            return f"Basic {token}"
        return self._digest(ch, method, uri)

    def _digest(self, ch: Challenge, method: str, uri: str) -> str:
        algorithm = ch.params.get("algorithm", "MD5").upper()
        digest = _HASHES[algorithm]
        realm, nonce = ch.params.get("realm", ""), ch.params.get("nonce", "")

        def h(text: str) -> str:
            return digest(text.encode("utf-8")).hexdigest()

        ha1, ha2 = h(f"{self.username}:{realm}:{self._password}"), h(f"{method}:{uri}")
        fields = [f'username="{self.username}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"']
        qops = [q.strip() for q in ch.params.get("qop", "").split(",") if q.strip()]
        if "auth" in qops:
            self._nonce_count += 1
            nc, cnonce = f"{self._nonce_count:08x}", secrets.token_hex(8)
            response = h(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            fields += [f'response="{response}"', "qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:  # RFC 2069 style, what many RTSP cameras (and GStreamer's server) ask for
            fields.append(f'response="{h(f"{ha1}:{nonce}:{ha2}")}"')
        if "opaque" in ch.params:
            fields.append(f'opaque="{ch.params["opaque"]}"')
        if "algorithm" in ch.params:
            fields.append(f"algorithm={ch.params['algorithm']}")
        return "Digest " + ", ".join(fields)


def _usable_digest(ch: Challenge) -> bool:
    return ch.params.get("algorithm", "MD5").upper() in _HASHES and "nonce" in ch.params
