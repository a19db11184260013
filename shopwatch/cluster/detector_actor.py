"""The person detector of a Ray node: a detached, named actor pinned to its node that hosts the same
``models.detector_service.DetectorNode`` as single-host mode (its own process holding the model, one bounded
queue batching the frames of every shard on the node, restarted when it dies). Shards on the node reach it the
way local workers do, with the ``NodeDetectorClient`` on its Unix socket, whose address and key the actor hands
out (``endpoint``); frames never travel through Ray. The body is ``cluster/detector_host.py`` (no Ray).

Placement (``cluster/detector_plan.py``): one per node offering an ``ingest_slot``, or one per GPU there
(``num_gpus=1``), ``NodeAffinitySchedulingStrategy(soft=False)``, ``max_restarts=-1``: a killed detector is
restarted on its node; a lost node's detector is not moved (the node's shards move to nodes that have their
own). ``NodeDetectors`` is the head's side: it follows the census, starting the detectors new nodes need and
ending those of nodes gone. Imports ``ray``: only ``serve --ray`` loads this module."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

import ray
from ray.actor import ActorHandle
from ray.exceptions import RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from shopwatch.cluster.detector_host import STOP_TIMEOUT_S, DetectorEndpoint, DetectorHost, DetectorSpec
from shopwatch.cluster.detector_plan import DetectorPlace, detector_places, detector_settings
from shopwatch.core.config import Settings
from shopwatch.core.logging import configure_logging

log = logging.getLogger(__name__)


class DetectorActor:
    def __init__(self, spec: DetectorSpec) -> None:
        """Nothing fallible here (an exception would end the actor for good): the host starts a thread."""
        configure_logging(spec.log_level, process_name=spec.name, libraries=spec.library_log_level)
        self._host = DetectorHost(spec)

    def endpoint(self) -> DetectorEndpoint:
        return self._host.endpoint()

    def close(self) -> None:
        """Stop the model's process (the actor is ended next, by ``ray.kill``)."""
        self._host.close()


def start_detector(place: DetectorPlace, settings: Settings) -> ActorHandle:
    """The detector actor of ``place``, created or (same name, same namespace) found running."""
    service = settings.service
    detect = detector_settings(settings.detect, place.gpu)
    spec = DetectorSpec(place.name, place.node_id, detect, service.log_level, service.library_log_level)
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
