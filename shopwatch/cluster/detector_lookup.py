"""A shard's door to the person detector of the node it runs on: a ``PersonDetector`` that finds the node's
detector actor by name (``cluster/detector_plan.py``: by node id, one of the node's GPUs by the shard's index),
asks it for its endpoint and then talks to it with the ``NodeDetectorClient`` local workers use (its Unix
socket: frames never travel through Ray).

Built on the head (it pickles: only the namespace and a timeout), used by the shard's detection thread. A
shard moved to another node finds that node's detector (the node is read at every look-up). While the detector
is missing, restarting or not answering, every call raises ``DetectorUnavailable`` saying why, at once until
``RETRY_S`` passed: the pipeline runs the person cameras on motion and their health says so, as with a local
worker whose node detector is away. Imports ``ray``: only shards load it."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import ray
from ray.exceptions import RayError

from shopwatch.cluster.detector_host import DetectorEndpoint
from shopwatch.cluster.detector_plan import node_prefix, pick
from shopwatch.cluster.shard import shard_index
from shopwatch.core.config import Settings
from shopwatch.core.detections import Detections
from shopwatch.core.frame import Rgb
from shopwatch.models.detect_thread import DetectionThread
from shopwatch.models.detector import DetectorUnavailable
from shopwatch.models.detector_client import RETRY_S, NodeDetectorClient


class NodeDetectorLookup:
    def __init__(self, namespace: str, call_timeout_s: float, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._namespace = namespace
        self._timeout_s = call_timeout_s
        self._monotonic = monotonic
        self._name = ""
        self._client: NodeDetectorClient | None = None
        self._retry_at = float("-inf")
        self._why = "the node's person detector has not been looked up yet"

    def __getstate__(self) -> dict[str, Any]:
        return {"namespace": self._namespace, "timeout_s": self._timeout_s}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["namespace"], state["timeout_s"])  # type: ignore[misc]

    def detect(self, images: Sequence[Rgb]) -> list[Detections | None]:
        if not images:
            return []
        client = self._client or self._find()
        try:
            return client.detect(images)
        except DetectorUnavailable as exc:  # gone or restarting: look it up again (it may have a new address)
            client.close()
            self._client = None
            raise self._down(f"{self._name}: {exc}") from None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _find(self) -> NodeDetectorClient:
        if self._monotonic() < self._retry_at:
            raise DetectorUnavailable(self._why)
        context = ray.get_runtime_context()
        node_id = context.get_node_id()
        name = context.get_actor_name() or ""
        shard = shard_index(name) if name.rpartition("-")[2].isdigit() else 0
        try:
            names = [
                actor["name"] for actor in ray.util.list_named_actors(all_namespaces=True)
                if actor["namespace"] == self._namespace
            ]  # fmt: skip
            found = pick(names, node_id, shard)
            if found is None:
                raise self._down(f"no person detector on this node yet ({node_prefix(node_id)})")
            self._name = found
            handle = ray.get_actor(found, namespace=self._namespace)
            ref: Any = handle.endpoint.remote()
            endpoint: DetectorEndpoint = ray.get(ref, timeout=self._timeout_s)
        except (RayError, ValueError) as exc:  # gone, restarting, unschedulable, slow
            raise self._down(f"{self._name or 'the node detector'} did not answer ({type(exc).__name__})") from None
        if endpoint.client is None:
            raise self._down(endpoint.problem or f"{found} has no detector process")
        self._client = endpoint.client
        return endpoint.client

    def _down(self, why: str) -> DetectorUnavailable:
        self._why = why
        self._retry_at = self._monotonic() + RETRY_S
        return DetectorUnavailable(why)


def node_detection(settings: Settings) -> partial[DetectionThread]:
    """The shards' frame consumer with a person model: each shard's detection thread asks its node's detector."""
    lookup = NodeDetectorLookup(settings.cluster.namespace, settings.cluster.call_timeout_s)
    return partial(DetectionThread, settings.detect, settings.ingest.activity.detect_fps, detector=lookup)
