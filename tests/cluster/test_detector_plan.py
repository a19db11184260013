"""Where the nodes' person detectors go (pure: ``ray.nodes()`` records in), which one a shard uses, the device
each runs on; and the shards' gauges in ``/metrics``."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from shopwatch.api.metrics import build_registry
from shopwatch.cluster.census import ShardCounts
from shopwatch.cluster.detector_plan import DetectorPlace, detector_places, detector_settings, pick
from shopwatch.core.detect_config import DetectSettings
from tests.api.fakes import FakeFleet

A, B, C, D = ("a1" * 14, "b2" * 14, "c3" * 14, "d4" * 14)


def node(node_id: str, alive: bool = True, **resources: float) -> dict[str, Any]:
    return {"NodeID": node_id, "Alive": alive, "NodeManagerAddress": "10.0.0.1", "Resources": resources}


def test_one_detector_per_live_node_with_a_slot_or_one_per_gpu_there() -> None:
    nodes = [
        node(A, ingest_slot=3),  # a CPU ingest node
        node(B, ingest_slot=2, GPU=2),  # an ingest node with two GPUs
        node(C, CPU=4),  # the head: no slot, no shard, nothing to detect
        node(D, alive=False, ingest_slot=3),  # lost
    ]
    assert detector_places(nodes) == {
        "detector-a1a1a1a1a1a1": DetectorPlace("detector-a1a1a1a1a1a1", A, gpu=False),
        "detector-b2b2b2b2b2b2-gpu0": DetectorPlace("detector-b2b2b2b2b2b2-gpu0", B, gpu=True),
        "detector-b2b2b2b2b2b2-gpu1": DetectorPlace("detector-b2b2b2b2b2b2-gpu1", B, gpu=True),
    }


@pytest.mark.parametrize(
    ("names", "node_id", "shard", "expected"),
    [
        (["shard-000", "detector-a1a1a1a1a1a1", "detector-b2b2b2b2b2b2"], A, 5, "detector-a1a1a1a1a1a1"),
        (["detector-b2b2b2b2b2b2-gpu1", "detector-b2b2b2b2b2b2-gpu0"], B, 0, "detector-b2b2b2b2b2b2-gpu0"),
        (["detector-b2b2b2b2b2b2-gpu1", "detector-b2b2b2b2b2b2-gpu0"], B, 3, "detector-b2b2b2b2b2b2-gpu1"),
        (["detector-b2b2b2b2b2b2", "shard-001"], A, 0, None),  # only another node's: none for this one (yet)
    ],
)
def test_a_shard_uses_its_own_nodes_detector_spread_over_its_gpus(
    names: list[str], node_id: str, shard: int, expected: str | None
) -> None:
    assert pick(names, node_id, shard) == expected


@pytest.mark.parametrize(
    ("configured", "gpu", "runs_on"),
    [
        ("cpu", False, "cpu"),
        ("intel:cpu", False, "intel:cpu"),
        ("cuda:1", True, "cuda:0"),  # Ray shows the actor its one GPU only, as cuda:0
        ("cuda:0", False, "cpu"),  # a node without GPUs
        ("cpu", True, "cpu"),
    ],
)
def test_the_device_each_detector_runs_on(configured: str, gpu: bool, runs_on: str) -> None:
    detect = DetectSettings(model="m.xml", device=configured)
    assert detector_settings(detect, gpu).device == runs_on
    assert detector_settings(detect, gpu).model == "m.xml"


class Shards:
    def __init__(self, counts: ShardCounts) -> None:
        self.counts = counts

    def shard_counts(self) -> ShardCounts:
        return self.counts


def test_metrics_show_shards_per_state_and_those_without_a_slot() -> None:
    text = generate_latest(build_registry(FakeFleet([]), shards=Shards(ShardCounts(3, 1, 2, 2)))).decode()
    values = {(s.name, s.labels.get("state")): s.value for f in text_string_to_metric_families(text) for s in f.samples}
    assert values[("shopwatch_shards", "running")] == 3
    assert values[("shopwatch_shards", "troubled")] == 1
    assert values[("shopwatch_shards", "no_process")] == 2
    assert values[("shopwatch_shards_without_slot", None)] == 2


def test_without_ray_there_are_no_shard_metrics() -> None:
    assert b"shopwatch_shards" not in generate_latest(build_registry(FakeFleet([])))
