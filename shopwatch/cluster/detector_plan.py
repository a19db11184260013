"""Where the person detectors of a Ray cluster go: one per node that hosts shards (offers an ``ingest_slot``), or
one per GPU where such a node offers GPUs. Pure: the node records of ``ray.nodes()`` in, named places out; the
settings each detector runs with. ``cluster/detector_actor.py`` starts them, a shard finds its node's by name."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from shopwatch.cluster.census import SLOT
from shopwatch.core.detect_config import DetectSettings

DETECTOR_PREFIX = "detector-"
NODE_ID_CHARS = 12  # of the node id's hex, in the detector's name (as the census names nodes)


@dataclass(frozen=True, slots=True)
class DetectorPlace:
    name: str  # the detached actor's name: detector-<node id prefix>[-gpu<i>]
    node_id: str  # the full hex id: the actor is pinned there
    gpu: bool  # holds one GPU of the node (num_gpus=1)


def node_prefix(node_id: str) -> str:
    """The name of the node's detector, or the start of the names of its per-GPU detectors."""
    return f"{DETECTOR_PREFIX}{node_id[:NODE_ID_CHARS]}"


def detector_places(nodes: Iterable[Mapping[str, Any]]) -> dict[str, DetectorPlace]:
    """The detectors the live nodes with an ``ingest_slot`` need, by name (a node without one hosts no shard, so
    no frames to look at)."""
    places: dict[str, DetectorPlace] = {}
    for node in nodes:
        resources = node.get("Resources", {})
        if not node.get("Alive") or int(resources.get(SLOT, 0)) == 0:
            continue
        node_id = str(node["NodeID"])
        gpus = int(resources.get("GPU", 0))
        if gpus == 0:
            places[node_prefix(node_id)] = DetectorPlace(node_prefix(node_id), node_id, gpu=False)
        for index in range(gpus):
            name = f"{node_prefix(node_id)}-gpu{index}"
            places[name] = DetectorPlace(name, node_id, gpu=True)
    return places


def pick(names: Iterable[str], node_id: str, shard: int) -> str | None:
    """The detector a shard on ``node_id`` uses among the actors ``names``: its node's, or (one per GPU) the
    shard's index modulo their count, so a node's shards spread over its GPUs. None: the node has none (yet)."""
    prefix = node_prefix(node_id)
    own = sorted(name for name in names if name == prefix or name.startswith(f"{prefix}-gpu"))
    return own[shard % len(own)] if own else None


def detector_settings(detect: DetectSettings, gpu: bool) -> DetectSettings:
    """``detect`` as one detector runs it. Ray shows a detector holding one GPU only that GPU (as ``cuda:0``:
    it sets ``CUDA_VISIBLE_DEVICES``), so a configured ``cuda:N`` means ``cuda:0`` there; a node without GPUs
    runs a configured CUDA device on the CPU instead of failing to load."""
    device = detect.device
    if device.startswith("cuda"):
        device = "cuda:0" if gpu else "cpu"
    return detect if device == detect.device else detect.model_copy(update={"device": device})
