"""Security headers on every HTTP answer, as a pure ASGI middleware (streams and static files included).

- ``Content-Security-Policy``: the console is one HTML page, one module script and one style sheet of our own,
  talking to its own origin (fetch, SSE, WebSocket) and showing its own JPEG/MJPEG: ``'self'`` for all of it,
  no inline script or style, no plug-ins, ``frame-ancestors 'none'`` (no framing: clickjacking), ``base-uri`` and
  ``form-action`` pinned. A route may set its own (the API docs pages load their viewer from a CDN).
- ``X-Content-Type-Options: nosniff``: a JPEG or an uploaded clip is never run as script.
- ``Referrer-Policy: no-referrer``: signed media links carry their credential in the URL.
- ``X-Frame-Options: DENY`` for browsers without CSP level 2; ``Cross-Origin-Opener-Policy: same-origin``.
- ``Strict-Transport-Security`` only on an HTTPS answer (RFC 6797 7.2: never over plain HTTP)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONSOLE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
FIXED: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONSOLE_CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, hsts_max_age_s: int = 31_536_000) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age_s}".encode() if hsts_max_age_s > 0 else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = list(FIXED)
        if self.hsts is not None and scope.get("scheme") == "https":
            extra.append((b"strict-transport-security", self.hsts))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in extra if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
