"""The head's side of the scale-out: ``RaySupervisor`` plans which shard reads which camera, stores the plan as
versioned assignments, keeps one detached actor per shard, pushes camera configurations, pulls every shard's
health, and kills a shard that answers but whose heartbeat stopped (Ray restarts it). It answers the API what
the local ``ingest.supervisor.Supervisor`` answers (health, snapshots, activity, live views), so ``LiveFleet``
serves either.

Imports ``ray``: only ``serve --ray`` loads it. Shards outlive the head (detached): ``stop`` leaves them running,
and a head started again finds them by name; ``shutdown_shards`` ends them."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

import ray
from ray.actor import ActorHandle
from ray.exceptions import RayError, RayTaskError

from shopwatch.cluster.actor import start_shard
from shopwatch.cluster.census import Census, ShardCounts, census, no_slot_note
from shopwatch.cluster.detector_actor import NodeDetectors
from shopwatch.cluster.live_relay import LiveRelay
from shopwatch.cluster.shard import Push, ShardReport, ShardSpec, shard_index, shard_name
from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.consumer import ConsumerFactory
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.health import CameraHealth, CameraState
from shopwatch.core.shard_plan import plan_assignment
from shopwatch.ingest.live_feed import LiveSubscription
from shopwatch.store.assignments import ShardAssignments

log = logging.getLogger(__name__)

CENSUS_EVERY_S = 5.0


def digest_of(cameras: Iterable[CameraConfig]) -> str:
    """Names a set of configurations (secrets included, so a changed password is pushed too)."""
    h = hashlib.sha256()
    for cam in sorted(cameras, key=lambda c: c.id):
        h.update(cam.model_dump_json().encode())
        for secret in cam.secrets():
            h.update(secret.encode())
    return h.hexdigest()[:24]


@dataclass
class _Shard:
    name: str
    handle: ActorHandle
    cameras: list[str]
    version: int = 0
    digest: str = ""
    beats: int = -1
    beats_moved_at: float = 0.0
    pushed_at: float = -math.inf
    trouble: str | None = None  # why it is not reporting, as the health of its cameras says
    answering: bool = False  # its last health call was answered (False: not asked yet, no process, unreachable)


class RaySupervisor:
    def __init__(
        self,
        settings: Settings,
        assignments: ShardAssignments,
        *,
        consumer: ConsumerFactory | None = None,
        clock: Clock | None = None,
        after_pull: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``after_pull``: called after every health round (the head's feed wake-up and the shards' events
        linked: ``cluster/head_events.py``)."""
        self._settings = settings
        self._after_pull = after_pull
        self._cluster = settings.cluster
        self._assignments = assignments
        self._consumer = consumer
        self._clock = clock or SystemClock()
        self._configs: dict[str, CameraConfig] = {}
        self._shards: dict[str, _Shard] = {}
        self._placement: dict[str, str] = {}  # camera id -> shard name
        self._health: dict[str, CameraHealth] = {}
        self._census = Census(0, 0, ())
        self._told_no_slot: set[str] = set()
        self._task: asyncio.Task[None] | None = None
        self._replans: set[asyncio.Task[None]] = set()
        self._live = LiveRelay(self._live_source)
        # One person detector per node (or GPU) hosting shards, when a model is configured (issue 14).
        self._detectors = NodeDetectors(settings) if settings.detect.model else None

    # -- lifecycle -------------------------------------------------------------------------------------------
    async def start(self, cameras: Iterable[CameraConfig]) -> None:
        self._configs = {cam.id: cam for cam in cameras}
        await self._replan()
        await self._take_census()
        self._task = asyncio.create_task(self._pull_forever(), name="ray-shard-health")

    async def stop(self) -> None:
        """Stop watching; the shards run on (detached)."""
        for task in [self._task, *self._replans]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*[t for t in [self._task, *self._replans] if t is not None], return_exceptions=True)
        self._live.close()

    async def shutdown_shards(self) -> None:
        """End every shard actor and every node's detector actor for good (``ray.kill``, no restart)."""
        for shard in self._shards.values():
            with contextlib.suppress(RayError, ValueError):
                ray.kill(shard.handle, no_restart=True)
        if self._detectors is not None:
            await asyncio.to_thread(self._detectors.shutdown)

    # -- camera set ------------------------------------------------------------------------------------------
    def apply(self, cameras: Iterable[CameraConfig]) -> None:
        """Make the running set ``cameras``: a new plan is stored (only changed shards get a new version) and
        the configurations pushed; returns at once (the work is a task on the loop)."""
        self._configs = {cam.id: cam for cam in cameras}
        task = asyncio.get_running_loop().create_task(self._replan())
        self._replans.add(task)
        task.add_done_callback(self._replans.discard)

    def _shard_count(self, enabled: int) -> int:
        wanted = self._cluster.shards or max(1, math.ceil(enabled / self._settings.ingest.cameras_per_worker))
        return max(wanted, len(self._shards)) if not self._cluster.shards else wanted

    async def _replan(self) -> None:
        enabled = sorted(cid for cid, cam in self._configs.items() if cam.enabled)
        names = [shard_name(i) for i in range(self._shard_count(len(enabled)))]
        current = await asyncio.to_thread(self._assignments.current)
        plan = plan_assignment(enabled, names, current)
        versions = await asyncio.to_thread(self._assignments.assign, plan)
        now = self._clock.wall()
        for name in names:
            shard = self._shards.get(name)
            if shard is None:
                spec = ShardSpec(name, self._settings, self._consumer)
                shard = _Shard(name, start_shard(spec), plan[name], beats_moved_at=self._clock.monotonic())
                self._shards[name] = shard
                log.info("%s: actor started or found (%d cameras)", name, len(plan[name]))
            shard.cameras, shard.version = plan[name], versions[name]
            shard.digest = digest_of(self._configs[c] for c in shard.cameras)
            self._push(shard)
        self._placement = {cid: name for name, cids in plan.items() for cid in cids}
        for camera_id in list(self._health):
            if camera_id not in self._configs:
                del self._health[camera_id]
        for camera_id, cam in self._configs.items():
            if not cam.enabled:
                self._health[camera_id] = CameraHealth(camera_id, CameraState.DISABLED, since=now)
            elif camera_id not in self._health or self._health[camera_id].state is CameraState.DISABLED:
                index = shard_index(self._placement[camera_id])
                self._health[camera_id] = CameraHealth(camera_id, CameraState.CONNECTING, since=now, worker=index)

    def _push(self, shard: _Shard) -> None:
        shard.pushed_at = self._clock.monotonic()
        configs = tuple(self._configs[c] for c in shard.cameras)
        shard.handle.push.remote(Push(shard.version, shard.digest, configs))

    # -- health ----------------------------------------------------------------------------------------------
    async def _pull_forever(self) -> None:
        next_census = self._clock.monotonic() + CENSUS_EVERY_S
        while True:
            await asyncio.sleep(self._cluster.health_interval_s)
            try:
                await self.pull_once()
                if self._after_pull is not None:
                    await self._after_pull()
                if self._clock.monotonic() >= next_census:
                    next_census = self._clock.monotonic() + CENSUS_EVERY_S
                    await self._take_census()
            except Exception:  # task boundary: one bad round must not end health for good
                log.exception("pulling the shards' health failed")

    async def pull_once(self) -> None:
        shards = list(self._shards.values())
        reports = await asyncio.gather(*(self._ask(s) for s in shards))
        for shard, report in zip(shards, reports, strict=True):
            shard.answering = isinstance(report, ShardReport)
            if isinstance(report, ShardReport):
                self._take(shard, report)
            else:
                self._unreachable(shard, report)

    async def _ask(self, shard: _Shard) -> ShardReport | str:
        try:
            async with asyncio.timeout(self._cluster.call_timeout_s):
                report: ShardReport = await shard.handle.health.remote()
                return report
        except TimeoutError:
            return f"no answer within {self._cluster.call_timeout_s:.0f} s"
        except RayError as exc:
            return f"{type(exc).__name__}"

    def _take(self, shard: _Shard, report: ShardReport) -> None:
        now = self._clock.monotonic()
        if report.beats != shard.beats:
            shard.beats, shard.beats_moved_at = report.beats, now
        elif now - shard.beats_moved_at >= self._cluster.stale_after_s:
            log.error("%s (pid %d) answers but its heartbeat stopped %.0f s ago: killing it (Ray restarts it)",
                      shard.name, report.pid, now - shard.beats_moved_at)  # fmt: skip
            with contextlib.suppress(RayError, ValueError):
                ray.kill(shard.handle, no_restart=False)
            shard.beats_moved_at = now
            return
        if (report.version, report.digest) != (shard.version, shard.digest) and (
            now - shard.pushed_at >= self._cluster.call_timeout_s
        ):
            self._push(shard)
        shard.trouble = report.problem
        index = shard_index(shard.name)
        seen = set()
        for health in report.cameras:
            if self._placement.get(health.camera_id) == shard.name:
                self._health[health.camera_id] = replace(health, worker=index)
                seen.add(health.camera_id)
        why = report.problem or f"waiting for {shard.name} to start it"
        for camera_id in shard.cameras:
            if camera_id not in seen:
                self._waiting(camera_id, index, why)

    def _unreachable(self, shard: _Shard, reason: str) -> None:
        shortage = self._census.shortage(len(self._shards))
        shard.trouble = f"{shard.name} unreachable: {reason}" + (f"; {shortage}" if shortage else "")
        for camera_id in shard.cameras:
            self._waiting(camera_id, shard_index(shard.name), shard.trouble)

    def _waiting(self, camera_id: str, index: int, why: str) -> None:
        old = self._health.get(camera_id)
        if old is not None and old.state is CameraState.CONNECTING and old.last_error == why:
            return
        self._health[camera_id] = CameraHealth(
            camera_id, CameraState.CONNECTING, since=self._clock.wall(), reconnects=old.reconnects if old else 0,
            last_error=why, worker=index,
        )  # fmt: skip

    async def _take_census(self) -> None:
        nodes: list[dict[str, Any]] = await asyncio.to_thread(ray.nodes)
        self._census = census(nodes)
        if self._detectors is not None:
            await asyncio.to_thread(self._detectors.follow, nodes)
        for node in self._census.without_slot:
            if node not in self._told_no_slot:
                self._told_no_slot.add(node)
                log.warning(no_slot_note(node))
        shortage = self._census.shortage(len(self._shards))
        if shortage:
            log.error(shortage)

    # -- queries (the Fleet's) -------------------------------------------------------------------------------
    def all_health(self) -> dict[str, CameraHealth]:
        return dict(self._health)

    def health(self, camera_id: str) -> CameraHealth | None:
        return self._health.get(camera_id)

    def worker_of(self, camera_id: str) -> int | None:
        name = self._placement.get(camera_id)
        return None if name is None else shard_index(name)

    def shard_of(self, camera_id: str) -> str | None:
        return self._placement.get(camera_id)

    def shard_troubles(self) -> dict[str, str]:
        """Shards not running their assignment, and why (health and metrics show it)."""
        return {s.name: s.trouble for s in self._shards.values() if s.trouble}

    def census(self) -> Census:
        return self._census

    def shard_counts(self) -> ShardCounts:
        """Shards running, answering in trouble, and without a process (of those, how many lack a slot)."""
        shards = list(self._shards.values())
        silent = sum(not s.answering for s in shards)
        troubled = sum(s.answering and s.trouble is not None for s in shards)
        beyond = max(0, len(shards) - self._census.slots) if self._census.nodes else 0
        return ShardCounts(len(shards) - silent - troubled, troubled, silent, min(silent, beyond))

    def detector_names(self) -> list[str]:
        """The nodes' person detector actors the head keeps (none without ``detect.model``)."""
        return [] if self._detectors is None else self._detectors.names()

    def request_activity(self, camera_id: str, reason: str) -> bool:
        name = self._placement.get(camera_id)
        if name is None:
            return False
        self._shards[name].handle.request_activity.remote(camera_id, reason)
        return True

    def watch_live(self, camera_id: str) -> LiveSubscription:
        """The camera's pictures from its shard (``cluster/live_relay.py``); ``KeyError``: no such camera."""
        if camera_id not in self._configs:
            raise KeyError(camera_id)
        return self._live.subscribe(camera_id)

    def live_streams(self) -> list[str]:
        """Cameras whose live stream from a shard is open now."""
        return self._live.streaming()

    def _live_source(self, camera_id: str) -> tuple[str, ActorHandle] | None:
        name = self._placement.get(camera_id)
        return None if name is None else (name, self._shards[name].handle)

    async def snapshot_jpeg(self, camera_id: str, timeout_s: float) -> bytes:
        if camera_id not in self._configs:
            raise KeyError(camera_id)
        name = self._placement.get(camera_id)
        if name is None:
            raise SnapshotUnavailable(f"camera {camera_id!r} is disabled")
        try:
            async with asyncio.timeout(timeout_s + 2.0):
                jpeg: bytes = await self._shards[name].handle.snapshot.remote(camera_id, timeout_s)
                return jpeg
        except TimeoutError:
            raise SnapshotUnavailable(f"no snapshot from camera {camera_id!r} within {timeout_s:.1f} s") from None
        except RayTaskError as exc:
            cause = exc.cause if isinstance(exc.cause, SnapshotUnavailable) else None
            raise SnapshotUnavailable(str(cause) if cause else f"{name} failed to take a snapshot") from None
        except RayError as exc:
            raise SnapshotUnavailable(f"{name} of camera {camera_id!r} is away ({type(exc).__name__})") from None
