"""Composition root: build every service from the settings, hand them to the API, run until stopped.

Nothing is built at import time; tests build the same pieces through ``run_service`` or by hand."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy import Engine

from shopwatch.api.app import create_app
from shopwatch.api.server import serve_api
from shopwatch.api.services import Services
from shopwatch.api.tls import check_tls
from shopwatch.auth.audit import AuditTrail
from shopwatch.auth.login import LoginService
from shopwatch.camera_source import CameraSource
from shopwatch.core.clock import SystemClock
from shopwatch.core.config import CameraConfig, Settings
from shopwatch.core.directory import CameraRoster
from shopwatch.core.logging import configure_logging
from shopwatch.core.private_files import private_data_dir
from shopwatch.core.redact import RedactingFilter
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.service import IncidentService
from shopwatch.ingest.fleet import IngestControl, LiveFleet
from shopwatch.ingest.supervisor import Supervisor
from shopwatch.models.detect_thread import DetectionThread
from shopwatch.models.detector import check_model_path
from shopwatch.models.detector_service import DetectorNode
from shopwatch.onvif.snapshot import OnvifSnapshots
from shopwatch.onvif.subscriptions import EventSubscriptions
from shopwatch.store.accounts import AccountRepository
from shopwatch.store.audit import AuditRepository
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.db import engine_for_settings, migrate
from shopwatch.store.learnt import LearntRepository
from shopwatch.talkback.build import build_talkback
from shopwatch.talkback.service import TalkbackService

if TYPE_CHECKING:  # only serve --ray imports Ray
    from shopwatch.cluster.ray_fleet import RaySupervisor

log = logging.getLogger(__name__)


class _Ingest(IngestControl, Protocol):
    """The local supervisor of worker processes, or (``--ray``) the supervisor of Ray shards."""

    def apply(self, cameras: list[CameraConfig]) -> None: ...

    async def stop(self) -> None: ...


@dataclass
class _Running:
    """What ``run_service`` started, in the order it stops them (reversed)."""

    talkback: TalkbackService
    incidents: IncidentService
    detector: DetectorNode | None
    supervisor: _Ingest
    subscriptions: EventSubscriptions
    fleet: LiveFleet
    services: Services


async def run_service(
    settings: Settings,
    config_path: Path | None,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
    ray_address: str | None = None,
) -> None:
    """Run ingest and the API until ``stop`` is set (or the task is cancelled). ``on_ready`` gets the API URL.
    ``ray_address``: ingest runs as shards on that Ray cluster (``cluster/``) instead of local worker processes."""
    redactor = configure_logging(settings.service.log_level, libraries=settings.service.library_log_level)
    if ray_address is not None:  # first: an unreachable cluster is said within seconds, before anything starts
        from shopwatch.cluster.connect import connect, reclaim_signals  # only with --ray: Ray not imported without

        cluster = settings.cluster
        await asyncio.to_thread(connect, ray_address, cluster.namespace, cluster.connect_timeout_s)
        reclaim_signals()  # Ray's core worker took SIGTERM: Ctrl-C's sibling must stop the service gracefully
    private_data_dir(Path(settings.service.data_dir))  # 0700, and every file made from here on 0600
    engine = engine_for_settings(settings, os.environ)  # with the key of the camera passwords
    await asyncio.to_thread(migrate, engine)
    source = await asyncio.to_thread(
        CameraSource, settings, config_path, CameraRepository(engine), LearntRepository(engine)
    )
    cameras = source.cameras()
    _mask_secrets(redactor, cameras)
    for secret in settings.incidents.secrets():
        redactor.add_secret(secret)
    if settings.detect.model:
        check_model_path(Path(settings.detect.model))  # a clear start-up error, not workers dying one by one
    check_tls(settings.api.tls)  # a wrong certificate or key stops us here, naming the file
    running = await _start(settings, engine, cameras, ray=ray_address is not None)
    app = create_app(settings, running.services)
    # Move the long-lived start-up objects (1,200 camera configs, the app) out of the collector's sight:
    # measured 55-75 ms collection pauses on the API loop without it.
    gc.freeze()
    stop = stop or asyncio.Event()
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    api = asyncio.create_task(
        serve_api(
            app, settings.api.host, settings.api.port, bound_port=bound, stop=stop, limits=settings.api.limits,
            tls=settings.api.tls,
        )  # fmt: skip
    )
    try:
        port = await bound
        url = f"{'https' if settings.api.tls else 'http'}://{settings.api.host}:{port}"
        log.info("serving %d cameras; API at %s", len(cameras), url)
        if on_ready is not None:
            on_ready(url)
        await _follow_changes(settings, source, running, redactor, stop)
    finally:
        stop.set()
        await _stop(running)
        await asyncio.gather(api, return_exceptions=True)
        engine.dispose()


async def _start(settings: Settings, engine: Engine, cameras: list[CameraConfig], *, ray: bool = False) -> _Running:
    """Build and start the services. Those events go to come first, from the configured cameras, so an event is
    never without a place to go: the supervisor's sink is the incident service itself, already running."""
    data_dir = Path(settings.service.data_dir)
    clock = SystemClock()
    directory = CameraRoster(cameras)
    talkback = await asyncio.to_thread(build_talkback, directory, settings.talkback, engine, data_dir, clock)
    talkback.start()
    auth = LoginService(AccountRepository(engine), settings.auth, clock)
    audit = AuditTrail(AuditRepository(engine), clock)
    incidents = await asyncio.to_thread(
        build_incidents, settings.incidents, engine, directory, talkback, data_dir, clock
    )
    await incidents.start()
    # One detector process per node holds the person model; workers send it the frames that need a person check.
    detector: DetectorNode | None = None
    detection = partial(DetectionThread, settings.detect, settings.ingest.activity.detect_fps)
    supervisor: _Ingest
    shards: RaySupervisor | None = None
    if ray:
        supervisor = shards = await _start_shards(settings, engine, cameras, detection, incidents)
    elif settings.detect.model:
        detector = DetectorNode(
            settings.detect, log_level=settings.service.log_level, library_log_level=settings.service.library_log_level
        )
        await detector.start()
        detection = partial(detection, detector=detector.client())
    if not ray:
        local = Supervisor(
            settings.ingest,
            log_level=settings.service.log_level,
            library_log_level=settings.service.library_log_level,
            consumer=detection,
            on_published=incidents,
            clips_dir=data_dir / "clips",
        )
        await local.start(cameras)
        supervisor = local
    # ONVIF motion events wake a camera up (idle -> active) through the supervisor, without any decoding.
    subscriptions = EventSubscriptions(settings.onvif, supervisor.request_activity)
    subscriptions.apply(cameras)
    fleet = LiveFleet(supervisor, directory, events=subscriptions, snapshot_fallback=OnvifSnapshots(settings.onvif))
    services = Services(fleet=fleet, talkback=talkback, auth=auth, audit=audit, incidents=incidents, shards=shards)
    return _Running(talkback, incidents, detector, supervisor, subscriptions, fleet, services)


async def _start_shards(
    settings: Settings,
    engine: Engine,
    cameras: list[CameraConfig],
    detection: partial[DetectionThread],
    incidents: IncidentService,
) -> RaySupervisor:
    """Ingest as Ray shards (``--ray``): they store their events themselves; the head wakes live consoles when
    the feed grows, links the shards' events into incidents and runs their auto-deterrence. With a person
    model, the supervisor keeps a detector actor on every node hosting shards and each shard's detection asks
    the one of its node (``cluster/detector_actor.py``)."""
    from shopwatch.cluster.detector_lookup import node_detection
    from shopwatch.cluster.feed_wake import FeedWake
    from shopwatch.cluster.head_events import HeadEvents
    from shopwatch.cluster.ray_fleet import RaySupervisor
    from shopwatch.store.assignments import ShardAssignments
    from shopwatch.store.inbox import EventInbox

    if settings.detect.model:
        detection = node_detection(settings)
    head_events = HeadEvents(EventInbox(engine), incidents, FeedWake(engine, incidents.feed), SystemClock())
    assignments = ShardAssignments(engine, SystemClock())
    supervisor = RaySupervisor(settings, assignments, consumer=detection, after_pull=head_events.after_pull)
    await supervisor.start(cameras)
    return supervisor


async def _follow_changes(
    settings: Settings, source: CameraSource, running: _Running, redactor: RedactingFilter, stop: asyncio.Event
) -> None:
    """Until ``stop``: apply edits of the config file or the registry to every part that holds cameras."""
    while not stop.is_set():
        try:
            async with asyncio.timeout(settings.service.reload_interval_s):  # not wait_for: it can drop a cancel
                await stop.wait()
        except TimeoutError:
            pass
        changed = await asyncio.to_thread(source.poll)
        if changed is not None:
            _mask_secrets(redactor, changed)
            running.fleet.set_cameras(changed)
            running.supervisor.apply(changed)
            running.subscriptions.apply(changed)
            log.info("camera set changed: %d cameras", len(changed))


async def _stop(running: _Running) -> None:
    await running.subscriptions.stop()
    await running.supervisor.stop()  # workers hand over the events still in their post-roll first
    if running.detector is not None:
        await running.detector.stop()
    await running.incidents.close()  # queued events stored; deliveries not yet confirmed stay in the outbox
    await running.talkback.close()  # every speaker session torn down, the audit written


def _mask_secrets(redactor: RedactingFilter, cameras: list[CameraConfig]) -> None:
    for cam in cameras:
        for secret in cam.secrets():
            redactor.add_secret(secret)
