"""How an error becomes an HTTP answer: one table from the ``core.errors`` family to a status and a kind, used by
the one exception handler ``create_app`` installs (and by the WebSocket routes, which refuse before accepting).

Routes raise the family's errors (or let the services' errors through) and never build the answer themselves.
The body is ``{"detail": <sentence>, "kind": <kind>}``, plus ``"reasons": [<code>...]`` when the error names
them (a talkback refusal: ``no_consent``, ``quiet_hours``, ``busy``...); the sentence is the error's own
message with any credentials in a URL masked, and every error answer is ``Cache-Control: no-store``. An error
that carries ``retry_after_s`` (a rate limit, a busy pool, a camera reconnecting) answers ``Retry-After`` in
whole seconds."""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from shopwatch.auth.login import LoginRefused
from shopwatch.core import errors
from shopwatch.core.redact import redact_text


class NoSnapshot(errors.Unavailable):
    """No picture from a camera in time; ``retry_after_s``: when its next reconnect is due, or a default."""

    def __init__(self, message: str, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    kind: str
    detail: str
    headers: dict[str, str]
    reasons: tuple[str, ...] = ()

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"detail": self.detail, "kind": self.kind}
        if self.reasons:
            body["reasons"] = list(self.reasons)
        return body


# The first row the error is an instance of decides, so a more specific class comes before its base.
ANSWERS: tuple[tuple[type[Exception], int, str], ...] = (
    (LoginRefused, 401, "unauthenticated"),
    (errors.RateLimited, 429, "rate_limited"),
    (errors.NotFound, 404, "not_found"),
    (errors.Conflict, 409, "conflict"),
    (errors.Forbidden, 403, "forbidden"),
    (errors.TooLarge, 413, "too_large"),
    (errors.UnsupportedMedia, 415, "unsupported_media"),
    (errors.Invalid, 422, "invalid"),
    (errors.Unavailable, 503, "unavailable"),
    (errors.DeviceBusy, 409, "device_busy"),
    (errors.DeviceUnreachable, 504, "device_unreachable"),
    (errors.StreamTimeout, 504, "device_timeout"),
    (errors.DeviceError, 502, "device_error"),
)


def answer_for(exc: errors.ShopwatchError) -> Answer | None:
    """The answer for an error of the family; None for one outside every kind (a bug: the caller answers 500)."""
    for cls, status, kind in ANSWERS:
        if isinstance(exc, cls):
            return Answer(status, kind, redact_text(str(exc)), _headers(exc), exc.reasons)
    return None


def answer_or_internal(exc: BaseException) -> Answer:
    """The answer for any error: its kind's, or a bare 500 that says nothing of it (a per-item result, a
    WebSocket refusal: places the handler does not reach)."""
    answer = answer_for(exc) if isinstance(exc, errors.ShopwatchError) else None
    return answer or Answer(500, "internal", "internal error", {})


def _headers(exc: Exception) -> dict[str, str]:
    headers = {"Cache-Control": "no-store"}
    if isinstance(exc, LoginRefused):
        headers["WWW-Authenticate"] = "Bearer"
    retry_after_s = getattr(exc, "retry_after_s", None)
    if isinstance(retry_after_s, int | float) and math.isfinite(retry_after_s):
        headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
    return headers


def install_family_handler(app: FastAPI) -> None:
    async def family_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, errors.ShopwatchError)
        answer = answer_for(exc)
        if answer is None:
            raise exc  # not one of the kinds: the catch-all answers 500 and the server logs the traceback
        return JSONResponse(answer.body(), status_code=answer.status, headers=answer.headers)

    app.add_exception_handler(errors.ShopwatchError, family_error)
