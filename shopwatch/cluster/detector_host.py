"""A node's person detector without Ray: the body of the detector actor (``cluster/detector_actor.py``), as
``ShardHost`` is a shard's. Its constructor only starts a thread (a constructor that raises would end the actor
for good); that thread checks the model path on this node and starts a ``models.detector_service.DetectorNode``
(the process that loads the model once and batches every local client's frames, restarted when it dies).
``endpoint()`` tells a shard how to reach it: the node detector's client (Unix socket address and key), or why
there is none."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from shopwatch.core.detect_config import DetectSettings
from shopwatch.core.errors import ShopwatchError
from shopwatch.models.detector import check_model_path
from shopwatch.models.detector_client import NodeDetectorClient
from shopwatch.models.detector_service import DetectorNode

log = logging.getLogger(__name__)

STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """What a detector actor is started with (Ray passes it again to every restart)."""

    name: str
    node_id: str  # the node it is pinned to (named in its problem)
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


class DetectorHost:
    def __init__(self, spec: DetectorSpec) -> None:
        """Nothing fallible here: the node detector is started by a thread."""
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
            self._problem = f"{self._spec.name} on node {self._spec.node_id[:12]}: {exc}"
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
        """Stop the model's process and the thread's loop."""
        node = self._node
        if node is not None:
            asyncio.run_coroutine_threadsafe(node.stop(STOP_TIMEOUT_S), self._loop).result(STOP_TIMEOUT_S + 2.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
