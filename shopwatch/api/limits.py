"""Bounded requests, before anything parses them: a pure ASGI middleware in front of the whole app.

- Headers (request line aside): past ``header_bytes`` together, 431 at once.
- Bodies: a declared ``Content-Length`` past the route's limit is answered 413 at once, without reading a byte
  of the body; a body without one (chunked) is counted as it arrives and refused the moment it passes the
  limit. Only what the route's reader holds is ever in memory: the server stops reading the socket while
  nothing consumes it. The limit is ``body_bytes`` for every route but the uploads named in ``uploads``
  (path -> bytes: the clip upload's own limit). The 413 closes the connection: the unread rest is not drained.
- WebSocket messages: past ``ws_message_bytes`` the socket is closed with 1009 (RFC 6455 7.4.1, "message too
  big") and the app sees a disconnect. The server's own frame limit (``ApiServer``) is set to the same bound,
  so the message is never assembled in the first place.

Answers are JSON ``{"detail": ...}`` like every other error of the API."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shopwatch.core.api_limits_config import RequestLimits

WS_MESSAGE_TOO_BIG = 1009


class BodyTooLarge(HTTPException):
    """A streamed body passed its limit while a route read it (raised from ``receive``: FastAPI passes an
    ``HTTPException`` from there on unchanged, so the route's exception handling answers 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"expected a request body of at most {limit} bytes", headers=_CLOSE)


_CLOSE = {"Connection": "close"}


class BoundedRequests:
    def __init__(self, app: ASGIApp, limits: RequestLimits, uploads: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limits = limits
        self.uploads = dict(uploads or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "websocket":
            await self.app(scope, self._ws_receive(receive, send), send)
        else:
            await self.app(scope, receive, send)

    def body_limit(self, scope: Scope) -> int:
        return self.uploads.get(scope["path"], self.limits.body_bytes)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        if sum(len(k) + len(v) + 4 for k, v in headers) > self.limits.header_bytes:
            await _answer(send, 431, f"expected request headers of at most {self.limits.header_bytes} bytes")
            return
        limit = self.body_limit(scope)
        declared = [v for k, v in headers if k == b"content-length"]
        if declared:
            if len(declared) > 1 or not declared[0].isdigit():  # RFC 9110 8.6: a list or garbage is invalid
                await _answer(send, 400, "expected one Content-Length of digits")
                return
            if int(declared[0]) > limit:
                await _answer(send, 413, f"expected a request body of at most {limit} bytes")
                return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, _counting(receive, limit), tracked)
        except BodyTooLarge as exc:  # a reader outside the app's exception handling
            if started:
                raise
            await _answer(send, 413, exc.detail)

    def _ws_receive(self, receive: Receive, send: Send) -> Receive:
        limit = self.limits.ws_message_bytes

        async def bounded() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                data = message.get("bytes") or message.get("text") or ""
                size = len(data.encode() if isinstance(data, str) else data)
                if size > limit:
                    await send({"type": "websocket.close", "code": WS_MESSAGE_TOO_BIG, "reason": "message too big"})
                    return {"type": "websocket.disconnect", "code": WS_MESSAGE_TOO_BIG}
            return message

        return bounded


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
