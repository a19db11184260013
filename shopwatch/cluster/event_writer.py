"""How a shard's events reach the database: straight, each stored once, through a spool while it is away.

``ShardEvents.submit`` (any thread, never blocks) turns the event into its record at once (its snapshots and clip
written under the data dir, its alert deliveries routed: ``incidents.records.new_event``) and hands it to the
shard's ``store.durable_sink.DurableEventSink``: spooled on the node's disk first (fsynced), then stored through
the idempotent insert (``store.event_once``: event, feed entry and outbox rows in one transaction; a report of a
visit stored already writes nothing), oldest first, with backoff while the database is away. The spool outlives
the shard's process: a shard restarted on the same node replays what its predecessor left.

Not done here, and left to the head: linking an event into an incident (``incidents.linking`` keeps its state
in the head's memory) and auto-deterrence; the event's row in the head's inbox, written with it
(``store.inbox.ShardEventRepository``), is how the head finds it (``cluster/head_events.py``). The head's
dispatcher sends the outbox rows (it polls the outbox), and the head wakes live consoles when new feed entries
appear (``cluster/feed_wake.py``)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from shopwatch.core.clock import Clock
from shopwatch.core.config import CameraConfig
from shopwatch.core.events import Event
from shopwatch.core.incident_records import NewEvent
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.incidents.alerts import UrlSigner
from shopwatch.incidents.build import url_secret
from shopwatch.incidents.media import MediaStore
from shopwatch.incidents.records import Intake, new_event
from shopwatch.incidents.routing import Router
from shopwatch.store.durable_sink import DurableEventSink, SinkHealth

log = logging.getLogger(__name__)


class Recorder:
    """Turns an event into its record: media written under ``data_dir``, deliveries routed (blocking)."""

    def __init__(self, settings: IncidentsSettings, data_dir: Path, clock: Clock) -> None:
        delivery = settings.delivery
        self.media = MediaStore(data_dir)
        self._router = Router(settings)
        self._signer = UrlSigner(delivery.public_url, url_secret(settings, data_dir), delivery.url_ttl_s)
        self._clock = clock

    def record(self, event: Event, camera: CameraConfig | None) -> NewEvent:
        wall = self._clock.wall()
        intake = Intake(self._router, self._signer, wall, datetime.fromtimestamp(wall, UTC))
        return new_event(event, camera, self.media.save(event), None, intake)


class ShardEvents:
    """An ``EventSink`` for a shard's detection (through the worker's post-roll, which adds the clip)."""

    def __init__(
        self, recorder: Recorder, sink: DurableEventSink, camera_of: Callable[[str], CameraConfig | None]
    ) -> None:
        self._recorder = recorder
        self.sink = sink
        self._camera_of = camera_of
        self._lock = threading.Lock()
        self.unrecorded = 0  # events whose media could not be written (a disk error): not stored

    def submit(self, event: Event) -> bool:
        try:
            item = self._recorder.record(event, self._camera_of(event.camera_id))
        except Exception:  # task boundary: a disk error writing its media costs this event only
            log.exception("event %s on %s could not be recorded", event.id, event.camera_id)
            with self._lock:
                self.unrecorded += 1
            return False
        return self.sink.submit(item)

    def health(self) -> SinkHealth:
        return self.sink.health()
