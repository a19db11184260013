"""An ingest shard of the scale-out: today's worker (readers, detection, post-roll) hosted in a Ray actor.

``ShardHost`` is the actor's body, without Ray: its constructor only starts a thread (a constructor that raises
would kill the actor for good), and that thread does everything fallible: it opens the database, reads the
shard's assignment by its name (``store.assignments``: a version and camera ids), resolves those cameras from the
registry, starts their readers, then loops: every ``assignment_poll_s`` it reads its version again (a new one:
the new camera set), applies configurations the head pushes (cameras of the YAML file, edited settings), and
keeps its health ready for the head to pull. Events go straight to the database (``cluster/event_writer.py``);
live views stream a watched camera's pictures to the head (``cluster/shard_live.py``). A watchdog thread exits
the process when the main loop or the event writer dies or hangs."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from shopwatch.cluster.event_writer import Recorder, ShardEvents
from shopwatch.cluster.link import ShardLink
from shopwatch.cluster.shard_live import ShardLive
from shopwatch.cluster.watchdog import Watchdog, run_watchdog
from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.consumer import ConsumerFactory
from shopwatch.core.errors import SnapshotUnavailable
from shopwatch.core.health import CameraHealth
from shopwatch.ingest.live_feed import WatchLive
from shopwatch.ingest.messages import ActivityRequest
from shopwatch.ingest.worker import Worker
from shopwatch.store.assignments import ShardAssignments
from shopwatch.store.cameras import CameraRepository, SecretNotSet
from shopwatch.store.db import engine_for_settings
from shopwatch.store.durable_sink import DurableEventSink, SinkHealth
from shopwatch.store.inbox import ShardEventRepository
from shopwatch.store.spool import EventSpool

log = logging.getLogger(__name__)

TICK_S = 0.1
START_RETRY_S = 1.0


def shard_name(index: int) -> str:
    return f"shard-{index:03d}"


def shard_index(name: str) -> int:
    return int(name.rsplit("-", 1)[-1])


@dataclass(frozen=True, slots=True)
class ShardSpec:
    """What a shard is started with (Ray passes it again to every restart): nothing secret beyond the settings
    (the database URL and its key come from the node's environment when not in the settings)."""

    name: str
    settings: Settings
    consumer: ConsumerFactory | None = None  # detection; built by the composition root


@dataclass(frozen=True, slots=True)
class Push:
    """Camera configurations from the head: ``digest`` names them (the head compares it with the shard's)."""

    version: int
    digest: str
    cameras: tuple[CameraConfig, ...]


@dataclass(frozen=True, slots=True)
class ShardReport:
    """A shard's health as the head pulls it."""

    shard: str
    pid: int
    beats: int  # the main loop's heartbeat: the head kills a shard whose beats stop moving
    version: int  # assignment version running
    digest: str  # of the pushed configurations running ("" until the head pushed)
    cameras: tuple[CameraHealth, ...]
    missing: tuple[str, ...]  # assigned cameras it has no configuration for (waits for the head's push)
    events: SinkHealth | None  # the event spool's: database up, spooled, stored, duplicates, dropped
    unrecorded: int  # events whose media could not be written (not stored)
    problem: str | None  # why it is not running its assignment (database away at start, ...)


class ShardHost:
    def __init__(self, spec: ShardSpec, clock: Clock | None = None) -> None:
        self.spec = spec
        self._clock = clock or SystemClock()
        self._stop = threading.Event()
        self._pushes: queue.Queue[Push] = queue.Queue(16)
        self._activity: queue.Queue[ActivityRequest | WatchLive] = queue.Queue(256)  # to the worker, in order
        self.live = ShardLive(self._watch_live, self._holds)
        self._link = ShardLink(self.live.offer)
        self._worker: Worker | None = None
        self._events: ShardEvents | None = None
        self._version = 0
        self._digest = ""
        self._configs: dict[str, CameraConfig] = {}  # by id: pushed ones win over the registry's
        self._missing: tuple[str, ...] = ()
        self._problem: str | None = "starting"
        self.beats = 0
        self._main = threading.Thread(target=self._run, name=f"{spec.name}-main", daemon=True)
        self._main.start()
        watchdog = Watchdog(spec.settings.cluster.stale_after_s, self._clock)
        self._watchdog = threading.Thread(
            target=run_watchdog, args=(watchdog, self._probe, self._stop), name="watchdog", daemon=True
        )
        self._watchdog.start()

    # -- what the actor's control calls use (any thread) ----------------------------------------------------
    def report(self) -> ShardReport:
        cameras = self._link.healths()
        events = self._events
        return ShardReport(
            self.spec.name, os.getpid(), self.beats, self._version, self._digest, cameras, self._missing,
            None if events is None else events.health(), 0 if events is None else events.unrecorded, self._problem,
        )  # fmt: skip

    def push(self, push: Push) -> None:
        try:
            self._pushes.put_nowait(push)
        except queue.Full:
            log.warning("%s: a configuration push was not taken (the main loop is behind)", self.spec.name)

    def request_activity(self, camera_id: str, reason: str) -> None:
        try:
            self._activity.put_nowait(ActivityRequest(camera_id, reason))
        except queue.Full:
            log.info("%s: activity request for %s dropped (queue full)", self.spec.name, camera_id)

    def _watch_live(self, watch: WatchLive) -> None:
        try:
            self._activity.put_nowait(watch)
        except queue.Full:  # a watch that was not renewed ends by itself (live_feed.WATCH_S)
            log.info("%s: live watch of %s dropped (queue full)", self.spec.name, watch.camera_id)

    def _holds(self, camera_id: str) -> bool:
        return self._worker is not None and camera_id in self._configs

    def snapshot(self, camera_id: str, timeout_s: float) -> bytes:
        worker = self._worker
        if worker is None:
            raise SnapshotUnavailable(f"{self.spec.name} is starting")
        return self._link.snapshot(worker, camera_id, timeout_s)

    def close(self) -> None:
        self._stop.set()
        self.live.close()
        self._main.join(timeout=self.spec.settings.ingest.read_timeout_s + 3.0)

    # -- the main thread ---------------------------------------------------------------------------------
    def _probe(self) -> tuple[dict[str, bool], int]:
        return {self._main.name: self._main.is_alive()}, self.beats

    def _run(self) -> None:
        settings = self.spec.settings
        while not self._stop.is_set():
            try:
                self._start(settings)
                break
            except (SQLAlchemyError, OSError) as exc:  # the database (or the spool's disk) away: retried, told
                self._problem = f"cannot start: {type(exc).__name__}: {exc}"[:300]
                log.warning("%s %s; retrying in %.0f s", self.spec.name, self._problem, START_RETRY_S)
                self.beats += 1
                self._stop.wait(START_RETRY_S)
        try:
            self._loop(settings)
        finally:
            if self._worker is not None:
                self._worker.close()
            if self._events is not None:
                self._events.sink.close()  # what is queued goes to the spool: the next start stores it

    def _start(self, settings: Settings) -> None:
        """Build what the shard runs (once), then read its assignment (retried by the caller until it works)."""
        if self._worker is None:
            engine = engine_for_settings(settings, os.environ)
            self._assignments = ShardAssignments(engine, self._clock)
            self._registry = CameraRepository(engine, self._clock, os.environ)
            data_dir = Path(settings.service.data_dir)
            cluster = settings.cluster
            spool = EventSpool(Path(cluster.spool_dir) / cluster.namespace / f"{self.spec.name}.sqlite",
                               cluster.spool_max_events)  # fmt: skip
            sink = DurableEventSink(ShardEventRepository(engine), spool, self._clock)  # the head links them
            recorder = Recorder(settings.incidents, data_dir, self._clock)
            sink.start()  # what an earlier run of this shard on this node left in the spool goes first
            self._events = ShardEvents(recorder, sink, self._configs.get)
            self._link.events = self._events
            self._worker = Worker(
                shard_index(self.spec.name), self._link, settings.ingest, None, self.spec.consumer, data_dir / "clips"
            )
        assignment = self._assignments.assignment_of(self.spec.name)
        self._set(assignment.version, assignment.cameras)
        self._problem = None

    def _loop(self, settings: Settings) -> None:
        poll_s = settings.cluster.assignment_poll_s
        next_poll = next_health = self._clock.monotonic()
        while not self._stop.wait(TICK_S):
            self.beats += 1
            self._take_pushes()
            self._take_activity()
            now = self._clock.monotonic()
            if now >= next_poll:
                next_poll = now + poll_s
                self._poll_assignment()
            if now >= next_health and self._worker is not None:
                next_health = now + settings.ingest.health_interval_s
                self._worker.report_health()

    def _poll_assignment(self) -> None:
        try:
            version = self._assignments.version_of(self.spec.name)
            if version != self._version:
                assignment = self._assignments.assignment_of(self.spec.name)
                self._set(assignment.version, assignment.cameras)
            self._problem = None
        except SQLAlchemyError as exc:  # the database away: the shard runs on with what it has
            self._problem = f"cannot read its assignment: {type(exc).__name__}"
            log.warning("%s %s", self.spec.name, self._problem)

    def _take_pushes(self) -> None:
        while True:
            try:
                push = self._pushes.get_nowait()
            except queue.Empty:
                return
            if push.version < self._version:
                continue  # older than what the database says: the head pushes the newer one next
            self._configs.update({cam.id: cam for cam in push.cameras})
            self._digest = push.digest
            self._set(push.version, tuple(cam.id for cam in push.cameras))

    def _take_activity(self) -> None:
        while self._worker is not None:
            try:
                self._worker.handle(self._activity.get_nowait())
            except queue.Empty:
                return

    def _set(self, version: int, camera_ids: Sequence[str]) -> None:
        """Run exactly ``camera_ids`` (as far as their configurations are known) at ``version``."""
        if version != self._version:
            self._digest = ""  # the head's push for this version is still to come
        cameras, missing = [], []
        for camera_id in camera_ids:
            cam = self._configs.get(camera_id) or self._from_registry(camera_id)
            if cam is None:
                missing.append(camera_id)
            else:
                self._configs[camera_id] = cam
                cameras.append(cam)
        for gone in set(self._configs) - set(camera_ids):
            del self._configs[gone]
        self._version, self._missing = version, tuple(missing)
        self._link.keep_only(self._configs)
        assert self._worker is not None
        self._worker.apply(tuple(cameras))
        log.info("%s: assignment v%d, %d cameras (%d without configuration yet)", self.spec.name, version,
                 len(cameras), len(missing))  # fmt: skip

    def _from_registry(self, camera_id: str) -> CameraConfig | None:
        record = self._registry.record(camera_id)
        if record is None:
            return None
        try:
            return record.resolved(os.environ)
        except SecretNotSet as exc:
            log.error("%s: camera %s is not started: %s", self.spec.name, camera_id, exc)
            return None

