"""The supervisor: shards cameras over worker processes, restarts a dead worker with its cameras, applies
camera edits to the one worker concerned, collects health, and routes snapshot requests.

It lives on the asyncio loop of the main process; worker pipes and process sentinels are watched with
``loop.add_reader`` so nothing polls."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
import multiprocessing
import signal
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import SpawnContext, SpawnProcess
from pathlib import Path

from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.config import CameraConfig, Ingest
from shopwatch.core.consumer import ConsumerFactory
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.events import EventSink
from shopwatch.core.health import CameraHealth, CameraState
from shopwatch.core.logging import LIBRARY_LOG_LEVEL
from shopwatch.ingest.live_feed import LiveHub, LivePackets, LiveSubscription, WatchLive
from shopwatch.ingest.messages import (
    ActivityRequest,
    HealthReport,
    Published,
    SetCameras,
    Shutdown,
    SnapshotReply,
    SnapshotRequest,
    ToWorker,
)
from shopwatch.ingest.worker import worker_main

log = logging.getLogger(__name__)

RESTART_DELAY_S = 0.2  # first restart of a dead worker; doubles while it keeps dying, capped below
RESTART_DELAY_MAX_S = 10.0
STABLE_AFTER_S = 30.0  # a worker that lived this long is healthy again: its restart delay resets


@dataclass
class _Shard:
    index: int
    cameras: dict[str, CameraConfig] = field(default_factory=dict)
    process: SpawnProcess | None = None
    conn: Connection | None = None
    started_at: float = 0.0
    restarts: int = 0
    restart_delay_s: float = RESTART_DELAY_S
    restart_handle: asyncio.TimerHandle | None = None


@contextlib.contextmanager
def _sigint_ignored_by_children() -> Iterator[None]:
    """Ctrl-C in a terminal sends SIGINT to the whole process group. Workers leave it to this process, which stops
    them in order (``Supervisor.stop``). A child started meanwhile inherits SIGINT ignored (an ignored signal stays
    ignored across exec, and Python then installs no KeyboardInterrupt handler), so a Ctrl-C during its start-up
    is no traceback either. SIGINT is blocked meanwhile here: one arriving stays pending (Linux never discards a
    blocked signal) and reaches this process's own handler once it is back."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers belong to the main thread; the worker ignores SIGINT itself first thing
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler if handler is not None else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


class Supervisor:
    def __init__(
        self,
        settings: Ingest,
        *,
        log_level: str = "info",
        library_log_level: str = LIBRARY_LOG_LEVEL,
        clock: Clock | None = None,
        consumer: ConsumerFactory | None = None,
        on_published: EventSink | None = None,
        clips_dir: Path | None = None,
    ) -> None:
        """``consumer`` builds each worker's frame consumer (detection); its events, each with its clip cut
        from the camera's ring into ``clips_dir`` (none: no clips), reach ``on_published`` on the supervisor's
        loop."""
        self._settings = settings
        self._consumer = consumer
        self._on_published = on_published
        self._clips_dir = clips_dir
        self._log_level = log_level
        self._library_log_level = library_log_level
        self._clock = clock or SystemClock()
        self._ctx: SpawnContext = multiprocessing.get_context("spawn")
        self._shards: list[_Shard] = []
        self._placement: dict[str, int] = {}  # camera id -> shard index
        self._configs: dict[str, CameraConfig] = {}
        self._health: dict[str, CameraHealth] = {}
        self._pending: dict[int, asyncio.Future[SnapshotReply]] = {}
        self._request_ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._live = LiveHub(self._send_watch)

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, cameras: Iterable[CameraConfig]) -> None:
        self._loop = asyncio.get_running_loop()
        cameras = list(cameras)
        enabled = sum(1 for cam in cameras if cam.enabled)
        count = self._settings.workers or max(1, math.ceil(enabled / self._settings.cameras_per_worker))
        self._shards = [_Shard(i) for i in range(count)]
        self.apply(cameras, send=False)
        for shard in self._shards:
            self._spawn(shard)

    async def stop(self, timeout_s: float | None = None) -> None:
        """Ask every worker to shut down (its readers leave within the read timeout), then kill stragglers."""
        if timeout_s is None:
            timeout_s = self._settings.read_timeout_s + 2.0
        self._stopping = True
        self._live.close()
        for shard in self._shards:
            if shard.restart_handle is not None:
                shard.restart_handle.cancel()
            self._send(shard, Shutdown())
        deadline = self._clock.monotonic() + timeout_s
        for shard in self._shards:
            process = shard.process  # the exit callback may detach the shard while we wait
            if process is None:
                continue
            while process.is_alive() and self._clock.monotonic() < deadline:
                await asyncio.sleep(0.05)
            if process.is_alive():
                process.kill()
                process.join(timeout=1.0)
            self._detach(shard)
        for future in self._pending.values():
            future.cancel()

    # -- camera set ------------------------------------------------------------------------------
    def apply(self, cameras: Iterable[CameraConfig], *, send: bool = True) -> None:
        """Make the running set equal to ``cameras``: only the workers whose cameras changed hear of it."""
        wanted = {cam.id: cam for cam in cameras}
        touched: set[int] = set()
        for camera_id in list(self._configs):
            if camera_id not in wanted:
                touched |= self._unplace(camera_id)
                del self._configs[camera_id]
                self._health.pop(camera_id, None)
        now = self._clock.wall()
        for camera_id, cam in wanted.items():
            if self._configs.get(camera_id) == cam:
                continue
            self._configs[camera_id] = cam
            if not cam.enabled:
                touched |= self._unplace(camera_id)
                self._health[camera_id] = CameraHealth(camera_id, CameraState.DISABLED, since=now)
                continue
            index = self._placement.get(camera_id)
            if index is None:
                index = self._place(camera_id)
                self._health[camera_id] = CameraHealth(camera_id, CameraState.CONNECTING, since=now, worker=index)
            self._shards[index].cameras[camera_id] = cam
            touched.add(index)
        if send:
            for index in sorted(touched):
                shard = self._shards[index]
                if shard.process is None:
                    self._spawn(shard)  # a shard created for new cameras
                else:
                    self._send(shard, SetCameras(tuple(shard.cameras.values())))

    def _place(self, camera_id: str) -> int:
        cap = self._settings.cameras_per_worker
        free = [s for s in self._shards if len(s.cameras) < cap]
        if (not free and self._settings.workers == 0) or not self._shards:  # auto-sized: open another worker
            self._shards.append(_Shard(len(self._shards)))
            free = [self._shards[-1]]
        shard = min(free or self._shards, key=lambda s: len(s.cameras))
        self._placement[camera_id] = shard.index
        return shard.index

    def _unplace(self, camera_id: str) -> set[int]:
        index = self._placement.pop(camera_id, None)
        if index is None:
            return set()
        self._shards[index].cameras.pop(camera_id, None)
        return {index}

    # -- worker processes ------------------------------------------------------------------------
    def _spawn(self, shard: _Shard) -> None:
        assert self._loop is not None, "start() first"
        ours, theirs = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=worker_main,
            args=(shard.index, theirs, self._settings, self._log_level, self._consumer, self._clips_dir,
                  self._library_log_level),
            name=f"shopwatch-worker-{shard.index}",
            daemon=True,
        )  # fmt: skip
        with _sigint_ignored_by_children():
            process.start()
        theirs.close()
        shard.process, shard.conn, shard.started_at = process, ours, self._clock.monotonic()
        self._loop.add_reader(ours.fileno(), self._on_readable, shard)
        self._loop.add_reader(process.sentinel, self._on_exit, shard)
        self._send(shard, SetCameras(tuple(shard.cameras.values())))
        log.info("worker %d started (pid %s, %d cameras)", shard.index, process.pid, len(shard.cameras))

    def _detach(self, shard: _Shard) -> None:
        if self._loop is not None and shard.conn is not None:
            self._loop.remove_reader(shard.conn.fileno())
            shard.conn.close()
        if self._loop is not None and shard.process is not None:
            self._loop.remove_reader(shard.process.sentinel)
            shard.process.join(timeout=0)
        shard.conn, shard.process = None, None

    def _on_exit(self, shard: _Shard) -> None:
        code = shard.process.exitcode if shard.process is not None else None
        self._detach(shard)
        if self._stopping:
            return
        lived = self._clock.monotonic() - shard.started_at
        shard.restart_delay_s = (
            RESTART_DELAY_S if lived >= STABLE_AFTER_S else min(shard.restart_delay_s * 2, RESTART_DELAY_MAX_S)
        )
        shard.restarts += 1
        log.error("worker %d exited (code %s); restarting in %.1f s", shard.index, code, shard.restart_delay_s)
        now = self._clock.wall()
        for camera_id in shard.cameras:
            old = self._health.get(camera_id)
            self._health[camera_id] = CameraHealth(
                camera_id,
                CameraState.CONNECTING,
                since=now,
                reconnects=old.reconnects if old else 0,
                last_error=f"worker {shard.index} exited (code {code}); restarting",
                worker=shard.index,
            )
        assert self._loop is not None
        shard.restart_handle = self._loop.call_later(shard.restart_delay_s, self._restart, shard)

    def _restart(self, shard: _Shard) -> None:
        shard.restart_handle = None
        if not self._stopping and shard.process is None:
            self._spawn(shard)

    def _send(self, shard: _Shard, message: ToWorker) -> None:
        if shard.conn is None:
            return
        try:
            shard.conn.send(message)
        except (BrokenPipeError, ConnectionResetError, OSError):
            log.warning("worker %d did not take %s (it is exiting)", shard.index, type(message).__name__)

    def _on_readable(self, shard: _Shard) -> None:
        conn = shard.conn
        try:
            while conn is not None and conn.poll():
                message = conn.recv()
                if isinstance(message, HealthReport):
                    for health in message.healths:
                        if self._placement.get(health.camera_id) == shard.index:
                            self._health[health.camera_id] = health
                elif isinstance(message, SnapshotReply):
                    future = self._pending.pop(message.request_id, None)
                    if future is not None and not future.done():
                        future.set_result(message)
                elif isinstance(message, LivePackets):
                    self._live.deliver(message)
                elif isinstance(message, Published) and self._on_published is not None:
                    try:
                        self._on_published.submit(message.event)  # never blocks: a bounded queue, drops counted
                    except Exception:  # task boundary: one bad consumer of events must not stop health and snapshots
                        log.exception("handling an event published by worker %d failed", shard.index)
        except (EOFError, OSError):
            # The process sentinel reports the exit; stop watching the dead pipe meanwhile.
            if self._loop is not None and shard.conn is not None:
                self._loop.remove_reader(shard.conn.fileno())

    # -- queries ---------------------------------------------------------------------------------
    def all_health(self) -> dict[str, CameraHealth]:
        return dict(self._health)

    def health(self, camera_id: str) -> CameraHealth | None:
        return self._health.get(camera_id)

    def worker_of(self, camera_id: str) -> int | None:
        return self._placement.get(camera_id)

    def worker_pids(self) -> dict[int, int | None]:
        return {s.index: (s.process.pid if s.process else None) for s in self._shards}

    def request_activity(self, camera_id: str, reason: str) -> bool:
        index = self._placement.get(camera_id)
        if index is None:
            return False
        self._send(self._shards[index], ActivityRequest(camera_id, reason))
        return True

    def watch_live(self, camera_id: str) -> LiveSubscription:
        """The camera's pictures from its ring's newest keyframe on, while the subscription is open (close it);
        ``KeyError``: no such camera. A disabled camera's subscription simply gets nothing."""
        if camera_id not in self._configs:
            raise KeyError(camera_id)
        return self._live.subscribe(camera_id)

    def _send_watch(self, watch: WatchLive) -> None:
        index = self._placement.get(watch.camera_id)
        if index is not None:
            self._send(self._shards[index], watch)

    async def snapshot_jpeg(self, camera_id: str, timeout_s: float) -> bytes:
        if camera_id not in self._configs:
            raise KeyError(camera_id)
        index = self._placement.get(camera_id)
        if index is None:
            raise SnapshotUnavailable(f"camera {camera_id!r} is disabled")
        shard = self._shards[index]
        if shard.conn is None:
            raise SnapshotUnavailable(f"worker {index} of camera {camera_id!r} is restarting")
        request_id = next(self._request_ids)
        future: asyncio.Future[SnapshotReply] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._send(shard, SnapshotRequest(request_id, camera_id, timeout_s))
        try:
            async with asyncio.timeout(timeout_s + 2.0):  # not wait_for: on 3.11 it can drop a cancel
                reply = await future
        except TimeoutError:
            raise SnapshotUnavailable(f"no snapshot from camera {camera_id!r} within {timeout_s:.1f} s") from None
        finally:
            self._pending.pop(request_id, None)
        if reply.jpeg is None:
            raise SnapshotUnavailable(reply.error or "no frame")
        return reply.jpeg
