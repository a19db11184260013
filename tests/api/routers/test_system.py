"""/healthz and /metrics: open, answered from the fleet's memory at request time."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from shopwatch.api.schemas import Healthz
from shopwatch.core.health import CameraState

from ..fakes import FakeFleet, make_health


def samples(text: str, name: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples if s.name == name]


def by_label(text: str, name: str, label: str) -> dict[str, float]:
    return {s.labels[label]: s.value for s in samples(text, name)}


async def test_healthz_counts_cameras_and_online(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert Healthz.model_validate(response.json()) == Healthz(status="ok", cameras=7, online=2)


async def test_metrics_parse_and_count_cameras_per_state(client: httpx.AsyncClient) -> None:
    response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    per_state = by_label(response.text, "shopwatch_cameras", "state")
    assert per_state == {
        "connecting": 0, "online": 2, "stalled": 1, "offline": 1, "auth_failed": 1, "disabled": 1
    }
    body = (await client.get("/api/cameras")).json()
    assert per_state == body["summary"]["by_state"]


async def test_camera_up_covers_every_registered_camera_with_its_grid(client: httpx.AsyncClient) -> None:
    text = (await client.get("/metrics")).text

    up = {(s.labels["camera"], s.labels["grid"]): s.value for s in samples(text, "shopwatch_camera_up")}
    assert up == {
        ("cam-0001", "north"): 1, ("cam-0002", "north"): 1, ("cam-0003", "north"): 0,
        ("cam-0004", "south"): 0, ("cam-0005", "south"): 0, ("cam-0006", "south"): 0,  # never reported
        ("cam-0007", "south"): 0,
    }


async def test_per_camera_counters_and_gauges(client: httpx.AsyncClient) -> None:
    text = (await client.get("/metrics")).text

    reported = {f"cam-{i:04d}" for i in (1, 2, 3, 4, 5, 7)}
    for name, value in [
        ("shopwatch_camera_packets_total", 1000),
        ("shopwatch_camera_frames_total", 250),
        ("shopwatch_camera_keyframes_total", 40),
        ("shopwatch_camera_frames_dropped_total", 7),
        ("shopwatch_camera_reconnects_total", 3),
        ("shopwatch_camera_activations_total", 2),
    ]:
        assert by_label(text, name, "camera") == dict.fromkeys(reported, value), name
    kbit = by_label(text, "shopwatch_camera_kbit_per_second", "camera")
    assert kbit["cam-0001"] == 384 and kbit["cam-0003"] == 0
    active = by_label(text, "shopwatch_camera_active", "camera")
    assert active == {cam: (1 if cam == "cam-0001" else 0) for cam in reported}
    types = {f.name: f.type for f in text_string_to_metric_families(text)}
    assert types["shopwatch_camera_packets"] == "counter"
    assert types["shopwatch_cameras"] == "gauge"


async def test_metrics_are_read_at_scrape_time(client: httpx.AsyncClient, fleet: FakeFleet) -> None:
    before = by_label((await client.get("/metrics")).text, "shopwatch_cameras", "state")
    camera = fleet.camera("cam-0003")
    assert camera is not None
    fleet.report(make_health(camera, CameraState.ONLINE))

    after = by_label((await client.get("/metrics")).text, "shopwatch_cameras", "state")

    assert (before["online"], before["offline"]) == (2, 1)
    assert (after["online"], after["offline"]) == (3, 0)
