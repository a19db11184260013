"""The person detector of a Ray node: a detached, named actor pinned to its node that hosts the same
``models.detector_service.DetectorNode`` as single-host mode (its own process holding the model, one bounded
queue batching the frames of every shard on the node, restarted when it dies). Shards on the node reach it the
way local workers do, with the ``NodeDetectorClient`` on its Unix socket, whose address and key the actor hands
out (``endpoint``); frames never travel through Ray.

Placement (``cluster/detector_plan.py``): one per node offering an ``ingest_slot``, or one per GPU there
(``num_gpus=1``), ``NodeAffinitySchedulingStrategy(soft=False)``, ``max_restarts=-1``: a killed detector is
restarted on its node; a lost node's detector is not moved (the node's shards move to nodes that have their
own). ``NodeDetectors`` is the head's side: it follows the census, starting the detectors new nodes need and
ending those of nodes gone. Imports ``ray``: only ``serve --ray`` loads this module."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray
from ray.actor import ActorHandle
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from shopwatch.cluster.detector_plan import DetectorPlace, detector_places, detector_settings
from shopwatch.core.config import Settings
from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.errors import ShopwatchError
from shopwatch.core.logging import configure_logging
from shopwatch.models.detector import check_model_path
from shopwatch.models.detector_client import NodeDetectorClient
from shopwatch.models.detector_service import DetectorNode

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """What a detector actor is started with (Ray passes it again to every restart)."""

    name: str
    detect: DetectSettings  # as this detector runs it (its device: see ``detector_settings``)
    log_level: str
    library_log_level: str


@dataclass(frozen=True, slots=True)
class DetectorEndpoint:
    """How a shard on the node reaches the detector, and how it is doing."""

    name: str
    pid: int  # the actor's process
    model_pid: int | None  # the process holding the model; None while it (re)starts
    restarts: int  # of the model's process, within this actor's life
    client: NodeDetectorClient | None = field(repr=False)  # its socket and key; None: no detector here (problem)
    problem: str | None  # why this node's frames get no person check (model missing on the node, ...)


class DetectorActor:
    def __init__(self, spec: DetectorSpec) -> None:
        """Nothing fallible here (an exception would end the actor for good): the node is started by a thread."""
        configure_logging(spec.log_level, process_name=spec.name, libraries=spec.library_log_level)
        self._spec = spec
        self._node: DetectorNode | None = None
        self._problem: str | None = "starting"
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._run, name="detector-node", daemon=True).start()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._start())
        except Exception as exc:  # task boundary: told through endpoint(), so the shards' health says it
            log.exception("%s: the node detector did not start", self._spec.name)
            self._problem = f"{self._spec.name} did not start: {type(exc).__name__}: {exc}"[:300]
            return
        self._loop.run_forever()

    async def _start(self) -> None:
        detect = self._spec.detect
        try:
            if not detect.model:
                raise ShopwatchError("no person model configured (detect.model)")
            check_model_path(Path(detect.model))
        except ShopwatchError as exc:  # the path must exist on every node: this one says it has none
            self._problem = f"{self._spec.name} on node {ray.get_runtime_context().get_node_id()[:12]}: {exc}"
            log.error("%s", self._problem)
            return
        node = DetectorNode(detect, log_level=self._spec.log_level, library_log_level=self._spec.library_log_level)
        await node.start()
        self._node, self._problem = node, None

    def endpoint(self) -> DetectorEndpoint:
        node = self._node
        return DetectorEndpoint(
            self._spec.name, os.getpid(), None if node is None else node.pid, 0 if node is None else node.restarts,
            None if node is None else node.client(), self._problem,
        )  # fmt: skip

    def close(self) -> None:
        """Stop the model's process (the actor is ended next, by ``ray.kill``)."""
        node = self._node
        if node is not None:
            asyncio.run_coroutine_threadsafe(node.stop(), self._loop).result(STOP_TIMEOUT_S + 2.0)


def start_detector(place: DetectorPlace, settings: Settings) -> ActorHandle:
    """The detector actor of ``place``, created or (same name, same namespace) found running."""
    service = settings.service
    spec = DetectorSpec(
        place.name, detector_settings(settings.detect, place.gpu), service.log_level, service.library_log_level
    )
    remote: Any = ray.remote  # its overloads do not name every option
    return remote(max_concurrency=4)(DetectorActor).options(
        name=place.name,
        namespace=settings.cluster.namespace,
        lifetime="detached",
        get_if_exists=True,
        max_restarts=-1,
        max_task_retries=0,
        num_cpus=0,
        num_gpus=1 if place.gpu else 0,
        scheduling_strategy=NodeAffinitySchedulingStrategy(place.node_id, soft=False),
    ).remote(spec)


class NodeDetectors:
    """The head's side: a detector for every node (or GPU) that hosts shards, following the census."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._handles: dict[str, ActorHandle] = {}
        self._closed = False
        self._lock = threading.Lock()  # follow() and shutdown() run in threads of the head's loop

    def names(self) -> list[str]:
        return sorted(self._handles)

    def follow(self, nodes: Iterable[Mapping[str, Any]]) -> None:
        """Start the detectors the live nodes need, end those of nodes gone (or no longer offering a slot)."""
        wanted = detector_places(nodes)
        with self._lock:
            if self._closed:
                return  # shut down: a census round still under way must not start them again
            for name in sorted(self._handles.keys() - wanted.keys()):
                handle = self._handles.pop(name)
                with contextlib.suppress(RayError, ValueError):
                    ray.kill(handle, no_restart=True)
                log.info("%s ended: its node is gone or hosts no shards", name)
            for name, place in sorted(wanted.items()):
                if name not in self._handles:
                    self._handles[name] = start_detector(place, self._settings)
                    log.info("%s: person detector started or found on node %s", name, place.node_id[:12])

    def shutdown(self) -> None:
        """End every detector for good, each first stopping its model's process."""
        with self._lock:
            self._closed = True
            handles, self._handles = list(self._handles.values()), {}
        if handles:
            refs: list[Any] = [handle.close.remote() for handle in handles]
            ray.wait(refs, num_returns=len(refs), timeout=STOP_TIMEOUT_S + 3.0)
        for handle in handles:
            with contextlib.suppress(RayError, ValueError):
                ray.kill(handle, no_restart=True)
