"""The app as a whole: no secret anywhere, errors as JSON, one seam for auth, nothing shared between apps."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest
from fastapi import Depends, FastAPI, HTTPException
from prometheus_client.parser import text_string_to_metric_families

from shopwatch.api.app import create_app, include_api_routers
from shopwatch.api.deps import ApiContext, attach_context
from shopwatch.api.metrics import build_registry
from shopwatch.api.routers import system
from shopwatch.api.services import Services
from shopwatch.core.config import Settings
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.health import CameraHealth, CameraState

from .auth_fixtures import AuthKit
from .fakes import FakeFleet, all_passwords, make_camera, make_health, small_fleet


async def every_response(client: httpx.AsyncClient, fleet: FakeFleet) -> list[httpx.Response]:
    password = all_passwords(fleet)[0]
    for camera in fleet.cameras():  # snapshot failures whose reasons carry the URL with the password
        if camera.id != "cam-0001":
            fleet.snapshots[camera.id] = SnapshotUnavailable(
                f"decode failed on {camera.streams.detect} ({camera.credentials.password.get_secret_value()})"
            )
    paths = ["/api/cameras", "/healthz", "/metrics", "/openapi.json", "/docs", "/api/cameras/nope"]
    for camera in fleet.cameras():
        paths += [f"/api/cameras/{camera.id}", f"/api/cameras/{camera.id}/snapshot.jpg"]
    # Invalid input carrying a password must not be echoed back in the 422.
    paths += [
        f"/api/cameras?state={quote(password)}",
        f"/api/cameras?enabled={quote(password)}",
        f"/api/cameras/cam-0001/snapshot.jpg?timeout_s={quote(password)}",
        f"/api/cameras?q={quote(password * 20)}",
    ]
    return [await client.get(path) for path in paths]


async def test_no_password_in_any_body_or_header(client: httpx.AsyncClient, fleet: FakeFleet) -> None:
    responses = await every_response(client, fleet)

    statuses = {r.status_code for r in responses}
    assert statuses == {200, 404, 422, 503}  # every path above was exercised
    passwords = all_passwords(fleet)
    assert len(passwords) == 7
    for response in responses:
        texts = [response.content.decode("latin-1"), *(f"{k}: {v}" for k, v in response.headers.items())]
        for text in texts:
            for password in passwords:
                assert password not in text, response.request.url
                assert quote(password) not in text, response.request.url
            assert "s3cr3t" not in text, response.request.url


async def test_errors_are_json_without_traceback(auth_kit: AuthKit) -> None:
    class BrokenFleet(FakeFleet):
        def all_health(self) -> dict[str, CameraHealth]:
            raise RuntimeError("rtsp://admin:Pw0001-s3cr3t!@10.0.0.2/ went wrong")

    services = Services(BrokenFleet([make_camera(1)]), auth=auth_kit.auth, audit=auth_kit.audit)
    app = create_app(Settings(), services)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    headers = auth_kit.headers()
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
        response = await client.get("/api/cameras")
        missing = await client.get("/api/nothing-here")

    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}


async def test_api_routers_and_metrics_share_one_dependency_seam_and_healthz_stays_open() -> None:
    async def deny() -> None:
        raise HTTPException(401, detail="sign in first")

    fleet = small_fleet()
    app = FastAPI()
    attach_context(app, ApiContext(Settings(), Services(fleet), build_registry(fleet)))
    app.include_router(system.router)
    include_api_routers(app, dependencies=[Depends(deny)])

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        paths = {path: ops for path, ops in app.openapi()["paths"].items() if path.startswith("/api/")}
        assert {"/api/cameras", "/api/cameras/{camera_id}", "/api/cameras/{camera_id}/snapshot.jpg"} <= set(paths)
        for path, operations in paths.items():
            for method in operations:  # each route with its own method (a wrong one is 405 before any dependency)
                response = await client.request(method, path.replace("{camera_id}", "cam-0001"))
                assert (response.status_code, response.json()) == (401, {"detail": "sign in first"}), (method, path)
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/metrics")).status_code == 401


async def test_two_apps_have_their_own_fleet_and_metrics(auth_kit: AuthKit) -> None:
    one = small_fleet()
    other = FakeFleet([make_camera(9)], [make_health(make_camera(9), CameraState.CONNECTING)])
    kit = {"auth": auth_kit.auth, "audit": auth_kit.audit}
    apps = [create_app(Settings(), Services(one, **kit)), create_app(Settings(), Services(other, **kit))]

    answers = []
    for app in apps:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=auth_kit.headers()) as client:
            answers.append(((await client.get("/healthz")).json(), (await client.get("/metrics")).text))

    assert [a[0]["cameras"] for a in answers] == [7, 1]
    connecting = [
        s.value
        for _, text in answers
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "shopwatch_cameras" and s.labels["state"] == "connecting"
    ]
    assert connecting == [0, 1]


async def test_an_app_not_built_by_create_app_says_so() -> None:
    app = FastAPI()
    include_api_routers(app, dependencies=[])

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        with pytest.raises(RuntimeError, match="expected an app built by create_app"):
            await client.get("/api/cameras")
