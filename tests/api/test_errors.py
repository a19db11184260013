"""The one exception handler: every kind of the ``core.errors`` family answers its status, kind and sentence, with
no secret in it; the services' own errors reach it through their kind; anything else stays a bare 500."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from shopwatch.api.app import install_error_handlers
from shopwatch.api.errors import NoSnapshot
from shopwatch.api.live_view import LiveViewsBusy
from shopwatch.api.stream_slots import TooManyStreams
from shopwatch.auth.login import LoginLimited, LoginRefused
from shopwatch.auth.users import InvalidAccount, UnknownAccount
from shopwatch.core import errors
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.incidents.service import UnknownEvent
from shopwatch.incidents.workflow import IllegalTransition, Status
from shopwatch.store.accounts import UsernameTaken
from shopwatch.store.events import BadCursor

NO_STORE = {"cache-control": "no-store"}

# (the error raised by a route, status, kind, detail, headers the answer must carry)
TABLE: list[tuple[Exception, int, str, str, dict[str, str]]] = [
    (errors.NotFound("no event 'e1'"), 404, "not_found", "no event 'e1'", NO_STORE),
    (UnknownEvent("e1"), 404, "not_found", "no event 'e1'", NO_STORE),
    (UnknownAccount("no user 'kim'"), 404, "not_found", "no user 'kim'", NO_STORE),
    (errors.Conflict("taken"), 409, "conflict", "taken", NO_STORE),
    (UsernameTaken("user 'kim' exists"), 409, "conflict", "user 'kim' exists", NO_STORE),
    (
        IllegalTransition("e1", Status.RESOLVED, Status.ACKNOWLEDGED),
        409,
        "conflict",
        "event e1 is resolved: cannot go to acknowledged (allowed: none (it is closed))",
        NO_STORE,
    ),
    (errors.Forbidden("not in your grids"), 403, "forbidden", "not in your grids", NO_STORE),
    (errors.Invalid("limit: expected at most 500"), 422, "invalid", "limit: expected at most 500", NO_STORE),
    (InvalidAccount("password too short"), 422, "invalid", "password too short", NO_STORE),
    (BadCursor("expected a cursor of this query"), 422, "invalid", "expected a cursor of this query", NO_STORE),
    (errors.Unavailable("the store is down"), 503, "unavailable", "the store is down", NO_STORE),
    (SnapshotUnavailable("no keyframe yet"), 503, "unavailable", "no keyframe yet", NO_STORE),
    (NoSnapshot("no snapshot", 3.2), 503, "unavailable", "no snapshot", {**NO_STORE, "retry-after": "4"}),
    (LiveViewsBusy("8 live views"), 503, "unavailable", "8 live views", {**NO_STORE, "retry-after": "2"}),
    (LoginRefused("wrong user name or password"), 401, "unauthenticated", "wrong user name or password",
     {**NO_STORE, "www-authenticate": "Bearer"}),  # fmt: skip
    (LoginLimited(59.2, "user"), 429, "rate_limited", "too many login attempts (user); retry after 59 s",
     {**NO_STORE, "retry-after": "60"}),  # fmt: skip
    (TooManyStreams(4), 429, "rate_limited", "expected at most 4 open streams per caller; close one first",
     {**NO_STORE, "retry-after": "5"}),  # fmt: skip
    (errors.TooLarge("expected at most 10 bytes"), 413, "too_large", "expected at most 10 bytes", NO_STORE),
    (errors.DeviceBusy("speaker in use"), 409, "device_busy", "speaker in use", NO_STORE),
    (errors.DeviceUnreachable("no answer"), 504, "device_unreachable", "no answer", NO_STORE),
    (errors.StreamTimeout("no data"), 504, "device_timeout", "no data", NO_STORE),
    (errors.AuthRefused("camera said 401"), 502, "device_error", "camera said 401", NO_STORE),
    (errors.DeviceNotSupported("no backchannel"), 502, "device_error", "no backchannel", NO_STORE),
    (errors.PeerProtocolError("not RTSP"), 502, "device_error", "not RTSP", NO_STORE),
]


def app_raising(exc: Exception) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/boom")
    async def boom() -> None:
        raise exc

    return app


async def get(app: FastAPI) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get("/boom")


@pytest.mark.parametrize(("exc", "status", "kind", "detail", "headers"), TABLE, ids=lambda v: type(v).__name__)
async def test_each_kind_answers_its_status_kind_and_sentence(
    exc: Exception, status: int, kind: str, detail: str, headers: dict[str, str]
) -> None:
    response = await get(app_raising(exc))

    assert response.status_code == status
    assert response.json() == {"detail": detail, "kind": kind}
    assert {name: response.headers.get(name) for name in headers} == headers


async def test_a_url_password_in_a_message_is_masked() -> None:
    exc = errors.DeviceUnreachable("cannot connect to rtsp://admin:Pw0001-s3cr3t!@10.0.0.2:554/main")

    response = await get(app_raising(exc))

    assert response.status_code == 504
    assert "s3cr3t" not in response.text
    assert response.json()["detail"] == "cannot connect to rtsp://admin:***@10.0.0.2:554/main"


@pytest.mark.parametrize("exc", [errors.ShopwatchError("bare base"), RuntimeError("a bug")], ids=["base", "bug"])
async def test_an_error_of_no_kind_is_an_internal_error_without_its_message(exc: Exception) -> None:
    response = await get(app_raising(exc))

    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
