"""The head's side of live views over Ray: a watched camera's pictures come from the shard that reads it, over a
Ray streaming generator (``ShardActor.live``), into the same ``LiveHub`` the local supervisor feeds, so the
console's live socket (``api/live_socket.py``) remuxes them to fragmented MP4 as it does for local workers.

``LiveHub`` asks for a camera's pictures (``WatchLive``) when its first viewer comes, renews that every second
while anyone watches, and says 0 when the last one leaves. Here: the first ask opens a stream on the camera's
shard; a renewal renews the stream's lease on the shard (``live_renew``), or opens the stream again when it
ended (the shard restarted, the camera moved to another shard, or the shard was still starting), which
reaches the viewer as a new stream (a new init segment: the console starts its player again); the 0 ends it
on the shard at once. A head that died leaves nothing running: the shard ends a stream whose lease ran out.

Bounded on both ends: the shard drops pictures the head does not take in time (``shard_live.LiveOutbox``),
each viewer's subscription drops what its browser does not take (``LiveSubscription``), and this pump only moves
batches from one to the other. Imports ``ray``: only ``serve --ray`` loads it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

from ray.actor import ActorHandle
from ray.exceptions import RayError

from shopwatch.ingest.live_feed import LiveHub, LivePackets, LiveSubscription, WatchLive

log = logging.getLogger(__name__)

# Where a camera's pictures come from now: its shard's name and actor, or None (disabled, not placed).
ShardOf = Callable[[str], tuple[str, ActorHandle] | None]


@dataclass
class _Pump:
    shard: str
    handle: ActorHandle
    task: asyncio.Task[None]


class LiveRelay:
    def __init__(self, shard_of: ShardOf) -> None:
        self._shard_of = shard_of
        self._hub = LiveHub(self._watch)
        self._pumps: dict[str, _Pump] = {}
        self.batches = 0  # batches of pictures received from shards

    def subscribe(self, camera_id: str) -> LiveSubscription:
        return self._hub.subscribe(camera_id)

    def streaming(self) -> list[str]:
        """Cameras whose stream from a shard is open now."""
        return sorted(c for c, pump in self._pumps.items() if not pump.task.done())

    def close(self) -> None:
        self._hub.close()
        for camera_id in list(self._pumps):
            self._end(camera_id)

    def _watch(self, watch: WatchLive) -> None:
        if watch.seconds <= 0:
            self._end(watch.camera_id)
            return
        pump = self._pumps.get(watch.camera_id)
        if pump is not None and not pump.task.done():
            self._call(pump.handle.live_renew, watch.camera_id, watch.seconds)
            return
        source = self._shard_of(watch.camera_id)
        if source is None:
            return
        shard, handle = source
        task = asyncio.get_running_loop().create_task(self._pump(watch.camera_id, shard, handle, watch.seconds))
        self._pumps[watch.camera_id] = _Pump(shard, handle, task)

    def _end(self, camera_id: str) -> None:
        pump = self._pumps.pop(camera_id, None)
        if pump is not None:
            pump.task.cancel()
            self._call(pump.handle.live_renew, camera_id, 0.0)

    async def _pump(self, camera_id: str, shard: str, handle: ActorHandle, lease_s: float) -> None:
        why = "the shard ended it"
        try:
            async for ref in handle.live.remote(camera_id, lease_s):
                batch: tuple[LivePackets, ...] = await ref
                self.batches += 1
                for packets in batch:
                    self._hub.deliver(packets)
        except RayError as exc:  # the shard died or restarts: the next renewal opens the stream again
            why = f"{type(exc).__name__}"
        log.info("live stream of %s from %s ended: %s", camera_id, shard, why)

    @staticmethod
    def _call(method: object, *args: object) -> None:
        with contextlib.suppress(RayError, ValueError):  # a dead shard: its streams end with it
            method.remote(*args)  # type: ignore[attr-defined]
