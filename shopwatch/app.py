"""Composition root: build every service from the settings, hand them to the API, run until stopped.

Nothing is built at import time; tests build the same pieces through ``run_service`` or by hand."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path

from shopwatch.api.app import create_app
from shopwatch.api.server import serve_api
from shopwatch.auth.audit import AuditTrail
from shopwatch.auth.login import LoginService
from shopwatch.camera_source import CameraSource
from shopwatch.core.clock import SystemClock
from shopwatch.core.config import Settings
from shopwatch.core.events import Event
from shopwatch.core.logging import configure_logging
from shopwatch.core.services import Services
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.service import IncidentService
from shopwatch.ingest.fleet import LiveFleet
from shopwatch.ingest.supervisor import Supervisor
from shopwatch.models.detector import check_model_path
from shopwatch.models.live import LiveDetection
from shopwatch.onvif.snapshot import OnvifSnapshots
from shopwatch.onvif.subscriptions import EventSubscriptions
from shopwatch.store.accounts import AccountRepository
from shopwatch.store.audit import AuditRepository
from shopwatch.store.cameras import CameraRepository
from shopwatch.store.db import create_engine_for, database_url, migrate
from shopwatch.talkback.build import build_talkback

log = logging.getLogger(__name__)


class EventSink:
    """Where workers' detection publishes (the supervisor calls it on the event loop). The supervisor is built
    before the incident service can be (which needs the fleet, which needs the supervisor); an event published
    in that start-up moment is logged rather than stored."""

    def __init__(self) -> None:
        self.incidents: IncidentService | None = None

    def __call__(self, payload: object) -> None:
        if not isinstance(payload, Event):
            log.warning("unexpected value from a worker: %s", type(payload).__name__)
        elif self.incidents is not None:
            self.incidents.submit(payload)  # never blocks: a bounded queue, drops counted
        else:
            log.warning("event before the incident store was ready: %s", json.dumps(payload.summary()))


async def run_service(
    settings: Settings,
    config_path: Path | None,
    *,
    stop: asyncio.Event | None = None,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Run ingest and the API until ``stop`` is set (or the task is cancelled). ``on_ready`` gets the API URL."""
    redactor = configure_logging(settings.service.log_level)
    Path(settings.service.data_dir).mkdir(parents=True, exist_ok=True)
    engine = create_engine_for(database_url(settings, os.environ))
    await asyncio.to_thread(migrate, engine)
    source = await asyncio.to_thread(CameraSource, settings, config_path, CameraRepository(engine))
    cameras = source.cameras()
    for cam in cameras:
        for secret in cam.secrets():
            redactor.add_secret(secret)
    for secret in settings.incidents.secrets():
        redactor.add_secret(secret)
    if settings.detect.model:
        check_model_path(Path(settings.detect.model))  # a clear start-up error, not workers dying one by one
    activity = settings.ingest.activity
    clips_dir = Path(settings.service.data_dir) / "clips"
    detection = partial(LiveDetection, settings.detect, activity.detect_fps, clips_dir, activity.postroll_s)
    sink = EventSink()
    supervisor = Supervisor(
        settings.ingest, log_level=settings.service.log_level, consumer=detection, on_published=sink
    )
    await supervisor.start(cameras)
    # ONVIF motion events wake a camera up (idle -> active) through the supervisor, without any decoding.
    subscriptions = EventSubscriptions(settings.onvif, supervisor.request_activity)
    subscriptions.apply(cameras)
    fleet = LiveFleet(supervisor, cameras, events=subscriptions, snapshot_fallback=OnvifSnapshots(settings.onvif))
    data_dir = Path(settings.service.data_dir)
    talkback = await asyncio.to_thread(build_talkback, fleet, settings.talkback, engine, data_dir, SystemClock())
    talkback.start()
    clock = SystemClock()
    auth = LoginService(AccountRepository(engine), settings.auth, clock)
    audit = AuditTrail(AuditRepository(engine), clock)
    incidents = await asyncio.to_thread(build_incidents, settings.incidents, engine, fleet, talkback, data_dir, clock)
    await incidents.start()
    sink.incidents = incidents
    services = Services(fleet=fleet, talkback=talkback, auth=auth, audit=audit, incidents=incidents)
    app = create_app(settings, services)
    # Move the long-lived start-up objects (1,200 camera configs, the app) out of the collector's sight:
    # measured 55-75 ms collection pauses on the API loop without it.
    gc.freeze()
    stop = stop or asyncio.Event()
    bound: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    api = asyncio.create_task(serve_api(app, settings.api.host, settings.api.port, bound_port=bound, stop=stop))
    try:
        port = await bound
        url = f"http://{settings.api.host}:{port}"
        log.info("serving %d cameras; API at %s", len(cameras), url)
        if on_ready is not None:
            on_ready(url)
        while not stop.is_set():
            try:
                async with asyncio.timeout(settings.service.reload_interval_s):  # not wait_for: it can drop a cancel
                    await stop.wait()
            except TimeoutError:
                pass
            changed = await asyncio.to_thread(source.poll)
            if changed is not None:
                for cam in changed:
                    for secret in cam.secrets():
                        redactor.add_secret(secret)
                fleet.set_cameras(changed)
                supervisor.apply(changed)
                subscriptions.apply(changed)
                log.info("camera set changed: %d cameras", len(changed))
    finally:
        stop.set()
        sink.incidents = None
        await incidents.close()  # queued events stored; deliveries not yet confirmed stay in the outbox
        await talkback.close()  # every speaker session torn down, the audit written
        await subscriptions.stop()
        await supervisor.stop()
        await asyncio.gather(api, return_exceptions=True)
        engine.dispose()
