"""The fleet collector and the per-app registry."""

from __future__ import annotations

from prometheus_client import REGISTRY, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shopwatch.api.metrics import FleetCollector, build_registry
from shopwatch.core.health import CameraState

from .fakes import FakeFleet, make_camera, make_health


def test_a_camera_reporting_after_removal_still_counts_without_a_grid() -> None:
    kept, removed = make_camera(1, "north"), make_camera(2, "south")
    fleet = FakeFleet([kept], [make_health(kept, CameraState.ONLINE), make_health(removed, CameraState.ONLINE)])

    families = {f.name: f for f in FleetCollector(fleet).collect()}

    up = {(s.labels["camera"], s.labels["grid"]): s.value for s in families["shopwatch_camera_up"].samples}
    assert up == {("cam-0001", "north"): 1, ("cam-0002", ""): 1}
    online = [s.value for s in families["shopwatch_cameras"].samples if s.labels["state"] == "online"]
    assert online == [2]


def test_empty_fleet_still_exposes_every_state_at_zero() -> None:
    text = generate_latest(build_registry(FakeFleet([]))).decode()

    states = {
        s.labels["state"]: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "shopwatch_cameras"
    }
    assert states == dict.fromkeys((s.value for s in CameraState), 0)


def test_the_global_registry_is_left_alone() -> None:
    build_registry(FakeFleet([make_camera(1)]))

    assert b"shopwatch_" not in generate_latest(REGISTRY)
