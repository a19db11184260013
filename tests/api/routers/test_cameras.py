"""/api/cameras: listing with filters, one camera, snapshots."""

from __future__ import annotations

import io
import time

import httpx
import pytest
from PIL import Image

from shopwatch.api.app import create_app
from shopwatch.api.routers import cameras as cameras_router
from shopwatch.api.schemas import CameraList, CameraPublic
from shopwatch.api.services import Services
from shopwatch.core.config import Settings
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.health import CameraState

from ..auth_fixtures import AuthKit
from ..fakes import FakeFleet, jpeg_bytes, make_camera, make_health, password_of

ALL_STATES = {s.value: 0 for s in CameraState}


def ids(body: dict[str, object]) -> list[str]:
    return [c["id"] for c in CameraList.model_validate(body).model_dump()["cameras"]]


async def test_lists_every_camera_with_health_and_a_summary(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/cameras")

    assert response.status_code == 200
    body = CameraList.model_validate(response.json())
    assert [c.id for c in body.cameras] == [f"cam-{i:04d}" for i in range(1, 8)]
    assert body.count == 7
    assert body.summary.total == 7
    assert body.summary.no_health == 1
    assert {s.value: n for s, n in body.summary.by_state.items()} == {
        **ALL_STATES, "online": 2, "offline": 1, "stalled": 1, "auth_failed": 1, "disabled": 1
    }
    first = body.cameras[0]
    assert first.health is not None and first.health.state is CameraState.ONLINE
    assert first.health.mode.value == "active"
    assert body.cameras[5].health is None  # cam-0006 never reported


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("grid=north", ["cam-0001", "cam-0002", "cam-0003"]),
        ("grid=south&grid=north&state=online", ["cam-0001", "cam-0002"]),
        ("state=offline&state=stalled", ["cam-0003", "cam-0004"]),
        ("grid=south&state=online", []),
        ("enabled=false", ["cam-0007"]),
        ("q=SHOP 5", ["cam-0005"]),
        ("q=merchant 2", ["cam-0002"]),
        ("q=10.0.0.5", ["cam-0004"]),
        ("grid=nowhere", []),
    ],
)
async def test_filters(client: httpx.AsyncClient, query: str, expected: list[str]) -> None:
    response = await client.get(f"/api/cameras?{query}")

    assert response.status_code == 200
    assert ids(response.json()) == expected
    assert response.json()["count"] == len(expected)


async def test_summary_counts_every_filter_but_state(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/cameras?grid=south&state=stalled")).json()

    assert ids(body) == ["cam-0004"]
    # The south grid's counts behind each state tab, while the 'stalled' tab is selected.
    assert body["summary"] == {
        "total": 4,
        "by_state": {**ALL_STATES, "stalled": 1, "auth_failed": 1, "disabled": 1},
        "no_health": 1,
    }


async def test_unknown_state_is_422_naming_the_valid_states(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/cameras?state=sleeping")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "state", 0]
    for state in CameraState:
        assert f"'{state.value}'" in error["msg"]
    assert "sleeping" not in response.text  # input is never echoed


async def test_one_camera(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/cameras/cam-0003")

    assert response.status_code == 200
    body = response.json()
    CameraPublic.model_validate(body)
    assert body["merchant"] == {"name": "Merchant 3", "phone": "+86 10 5555 0100"}
    assert body["has_credentials"] is True
    assert "credentials" not in body
    assert body["streams"]["detect"] == "rtsp://10.0.0.1:554/Streaming/Channels/102"
    assert body["talkback"] == {
        "capable": True, "allowed": False, "quiet_hours": {"start": "22:00:00", "end": "07:00:00"}
    }
    health = body["health"]
    assert health["state"] == "offline"
    assert health["since"] == "2027-01-15T08:00:00.000Z"
    assert health["last_error"] == "connection refused: rtsp://admin:***@10.0.0.4:554/x"
    assert health["counters"] == {
        "packets_total": 1000, "frames_total": 250, "keyframes_total": 40, "frames_dropped": 7, "activations": 2,
        "internal_errors": 0,
    }


async def test_unknown_camera_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/cameras/nope")

    assert response.status_code == 404
    assert response.json() == {"detail": "camera 'nope' is not registered", "kind": "not_found"}


async def test_snapshot_is_a_jpeg_that_is_never_cached(client: httpx.AsyncClient, fleet: FakeFleet) -> None:
    response = await client.get("/api/cameras/cam-0001/snapshot.jpg?timeout_s=2.5")

    assert response.status_code == 200
    assert response.headers["content-type"] == "image/jpeg"
    assert response.headers["cache-control"] == "no-store"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "JPEG"
    assert image.size == (64, 36)
    assert fleet.snapshot_calls == [("cam-0001", 2.5)]


async def test_snapshot_of_unknown_camera_is_404(client: httpx.AsyncClient, fleet: FakeFleet) -> None:
    response = await client.get("/api/cameras/nope/snapshot.jpg")

    assert response.status_code == 404
    assert response.json() == {"detail": "camera 'nope' is not registered", "kind": "not_found"}
    assert fleet.snapshot_calls == []


async def test_snapshot_of_camera_removed_meanwhile_is_404(client: httpx.AsyncClient, fleet: FakeFleet) -> None:
    fleet.snapshots["cam-0002"] = KeyError("cam-0002")

    response = await client.get("/api/cameras/cam-0002/snapshot.jpg")

    assert response.status_code == 404
    assert response.json() == {"detail": "camera 'cam-0002' is not registered", "kind": "not_found"}


async def test_snapshot_unavailable_is_503_with_reason_and_retry_after(
    client: httpx.AsyncClient, fleet: FakeFleet
) -> None:
    password = password_of(3)
    fleet.snapshots["cam-0003"] = SnapshotUnavailable(f"open failed: rtsp://admin:{password}@10.0.0.4/x")

    response = await client.get("/api/cameras/cam-0003/snapshot.jpg")

    assert response.status_code == 503
    assert response.json() == {
        "detail": "no snapshot from camera 'cam-0003' (state offline): open failed: rtsp://admin:***@10.0.0.4/x",
        "kind": "unavailable",
    }
    assert response.headers["retry-after"] == "4"  # the camera's next reconnect is in 3.2 s
    assert response.headers["cache-control"] == "no-store"


async def test_snapshot_without_health_hint_retries_after_default(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/cameras/cam-0006/snapshot.jpg")

    assert response.status_code == 503
    assert response.json()["detail"] == "no snapshot from camera 'cam-0006': no keyframe decoded yet"
    assert response.headers["retry-after"] == str(cameras_router.RETRY_AFTER_S)


async def test_snapshot_from_a_fleet_that_hangs_is_503_in_bounded_time(
    client: httpx.AsyncClient, fleet: FakeFleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cameras_router, "SNAPSHOT_GRACE_S", 0.0)
    fleet.snapshots["cam-0002"] = None

    started = time.monotonic()
    response = await client.get("/api/cameras/cam-0002/snapshot.jpg?timeout_s=0.05")

    assert time.monotonic() - started < 2
    assert response.status_code == 503
    assert response.json()["detail"] == "no snapshot from camera 'cam-0002' (state online): no frame within 0.05 s"


@pytest.mark.parametrize("timeout", ["0", "-1", "60", "soon"])
async def test_snapshot_timeout_is_bounded(client: httpx.AsyncClient, timeout: str) -> None:
    response = await client.get(f"/api/cameras/cam-0001/snapshot.jpg?timeout_s={timeout}")

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "timeout_s"]


async def test_lists_1200_cameras(auth_kit: AuthKit) -> None:
    cameras = [make_camera(i, f"grid-{i % 40:02d}") for i in range(1, 1201)]
    states = list(CameraState)
    fleet = FakeFleet(cameras, [make_health(c, states[i % len(states)]) for i, c in enumerate(cameras)])
    fleet.snapshots["cam-0001"] = jpeg_bytes()
    app = create_app(Settings(), Services(fleet, auth=auth_kit.auth, audit=auth_kit.audit))
    transport = httpx.ASGITransport(app=app)
    headers = auth_kit.headers()
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver", headers=headers) as client:
        started = time.perf_counter()
        response = await client.get("/api/cameras")
        elapsed = time.perf_counter() - started

        body = CameraList.model_validate(response.json())
        assert body.count == 1200
        assert len({c.id for c in body.cameras}) == 1200
        assert body.summary.by_state[CameraState.ONLINE] == 200
        assert ids((await client.get("/api/cameras?grid=grid-07&state=online")).json()) == [
            c.id for i, c in enumerate(cameras) if i % 40 == 6 and i % 6 == 1
        ]
    # Generous: measured ~25 ms on the 2-core dev machine; this only catches an accidental O(n^2).
    assert elapsed < 2.0
