"""Cross-site request forgery and cross-site WebSocket hijacking: a pure ASGI middleware checking ``Origin``.

The browser sends the login cookie with every request to us, whichever page made it; a page of another site
could otherwise post a transition or open the live-talk WebSocket in the operator's name. So:

- an unsafe method (POST, PUT, PATCH, DELETE) that carries the login cookie and no ``Authorization`` header must
  come with an ``Origin`` that is allowed (browsers send one on every such request, RFC 6454 7.3); a bearer
  token or API key is not sent by a browser on its own, so those requests are not checked;
- a WebSocket handshake that names an ``Origin`` (browsers always do, RFC 6455 4.1) must name an allowed one,
  whatever authenticates it.

Allowed: this service's own origin (the request's scheme and ``Host``) and ``api.security.allowed_origins``.
Refused: 403 with a sentence; a WebSocket gets the handshake's 403. JSON routes refuse a body that is not
``application/json`` (FastAPI's strict content type), so an HTML form cannot post one either."""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOGIN = "/api/auth/login"  # takes no credential: a cookie sent along with it is not what authenticates it
DEFAULT_PORTS = {"http": "80", "https": "443", "ws": "80", "wss": "443"}


def normalise(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, without a default port."""
    scheme, sep, rest = origin.strip().lower().partition("://")
    host = rest.rstrip("/")
    if not sep or not host:
        return origin.strip().lower()
    name, colon, port = host.rpartition(":")
    if colon and port == DEFAULT_PORTS.get(scheme) and "]" not in port:
        host = name
    return f"{scheme}://{host}"


class OriginCheck:
    def __init__(self, app: ASGIApp, cookie_name: str, allowed_origins: Iterable[str] = ()) -> None:
        self.app = app
        self.cookie_name = cookie_name
        self.allowed = frozenset(normalise(o) for o in allowed_origins)

    def allows(self, scope: Scope, origin: str) -> bool:
        headers = Headers(scope=scope)
        scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope.get("scheme", "http"))
        own = normalise(f"{scheme}://{headers.get('host', '')}")
        return normalise(origin) in self.allowed or normalise(origin) == own

    def _cookie_write(self, scope: Scope, headers: Headers) -> bool:
        if scope.get("method") not in UNSAFE or "authorization" in headers or scope.get("path") == LOGIN:
            return False
        cookies = headers.get("cookie", "")
        return any(part.strip().startswith(f"{self.cookie_name}=") for part in cookies.split(";"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        checked = scope["type"] == "websocket" and origin is not None
        checked = checked or (scope["type"] == "http" and self._cookie_write(scope, headers))
        if checked and (origin is None or not self.allows(scope, origin)):
            await _refuse(scope, send, f"origin {origin or '(none)'} is not allowed to act with this login")
            return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send, detail: str) -> None:
    body = json.dumps({"detail": detail, "kind": "forbidden"}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if scope["type"] == "http":
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    elif "websocket.http.response" in scope.get("extensions", {}):
        await send({"type": "websocket.http.response.start", "status": 403, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008})
