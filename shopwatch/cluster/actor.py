"""The Ray side of a shard: a detached, named actor hosting a ``ShardHost`` (imports ``ray``: only ``serve --ray``
loads this module).

Placement: ``num_cpus=0`` and one ``ingest_slot`` (a custom resource each node offers as many of as shards it
may host), spread over the nodes; ``max_restarts=-1``: Ray restarts a shard whose process died, on its node or,
when the node is gone, on any node with a free slot. Control calls (health, pushes, activity) have a
concurrency group of their own, so they answer in milliseconds while a snapshot call waits for a frame; live
streams (Ray streaming generators, one per watched camera, ``cluster/shard_live.py``) have theirs: each holds
one of its ``LIVE_STREAMS`` threads while it runs, a stream beyond them waits for one to end."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ray
from ray.actor import ActorHandle

from shopwatch.cluster.census import SLOT
from shopwatch.cluster.shard import Push, ShardHost, ShardReport, ShardSpec
from shopwatch.core.logging import configure_logging
from shopwatch.ingest.live_feed import LivePackets

LIVE_STREAMS = 16  # live streams a shard serves at once (one thread each, waiting on its camera's pictures)


class ShardActor:
    def __init__(self, spec: ShardSpec) -> None:
        """Nothing fallible here (an exception would end the actor for good, restarts or not)."""
        settings = spec.settings.service
        configure_logging(settings.log_level, process_name=spec.name, libraries=settings.library_log_level)
        self._host = ShardHost(spec)

    @ray.method(concurrency_group="control")
    def health(self) -> ShardReport:
        return self._host.report()

    @ray.method(concurrency_group="control")
    def node(self) -> str:
        return str(ray.get_runtime_context().get_node_id())

    @ray.method(concurrency_group="control")
    def push(self, push: Push) -> None:
        self._host.push(push)

    @ray.method(concurrency_group="control")
    def request_activity(self, camera_id: str, reason: str) -> None:
        self._host.request_activity(camera_id, reason)

    @ray.method(concurrency_group="control")
    def live_renew(self, camera_id: str, seconds: float) -> None:
        self._host.live.renew(camera_id, seconds)

    @ray.method(concurrency_group="control")
    def live_streams(self) -> list[str]:
        """Cameras whose pictures this shard streams to the head now."""
        return self._host.live.streaming()

    @ray.method(concurrency_group="live", num_returns="streaming")
    def live(self, camera_id: str, lease_s: float) -> Iterator[tuple[LivePackets, ...]]:
        """The camera's live pictures, in batches, while the head renews its lease (``live_renew``)."""
        yield from self._host.live.stream(camera_id, lease_s)

    @ray.method(concurrency_group="snapshots")
    def snapshot(self, camera_id: str, timeout_s: float) -> bytes:
        return self._host.snapshot(camera_id, timeout_s)

    @ray.method(concurrency_group="snapshots")
    def close(self) -> None:
        self._host.close()


def shard_actor_class() -> Any:
    """``ShardActor`` as a Ray actor class (threaded: two control calls, four snapshot calls and
    ``LIVE_STREAMS`` live streams at once)."""
    remote: Any = ray.remote  # its overloads do not name concurrency_groups
    return remote(concurrency_groups={"control": 2, "snapshots": 4, "live": LIVE_STREAMS})(ShardActor)


def start_shard(spec: ShardSpec) -> ActorHandle:
    """The shard's actor, created or (same name, same namespace) found running."""
    return shard_actor_class().options(
        name=spec.name,
        namespace=spec.settings.cluster.namespace,
        lifetime="detached",
        get_if_exists=True,
        max_restarts=-1,
        max_task_retries=0,
        num_cpus=0,
        resources={SLOT: 1},
        scheduling_strategy="SPREAD",
    ).remote(spec)
