"""Build the incidents service from the settings (called by the composition root and by tests)."""

from __future__ import annotations

import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from shopwatch.core.clock import Clock
from shopwatch.core.community_config import RobotKind
from shopwatch.core.directory import CameraDirectory
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.incidents.alerts import UrlSigner
from shopwatch.incidents.deterrence import AutoDeterrence
from shopwatch.incidents.dispatcher import Dispatcher
from shopwatch.incidents.media import MediaStore
from shopwatch.incidents.robots.message import Style
from shopwatch.incidents.robots.pictures import event_pictures
from shopwatch.incidents.robots.sender import RobotSender
from shopwatch.incidents.routing import MQTT, WEBHOOK, Router
from shopwatch.incidents.search import EventSearch
from shopwatch.incidents.senders import MqttSender, Sender, WebhookSender
from shopwatch.incidents.service import IncidentService, Parts
from shopwatch.incidents.teaching import IgnoredSpots
from shopwatch.incidents.tips import TipDesk
from shopwatch.store.events import EventRepository
from shopwatch.store.learnt import LearntRepository
from shopwatch.store.outbox import OutboxRepository
from shopwatch.store.tips import TipRepository
from shopwatch.talkback.service import TalkbackService

URL_SECRET_FILE = "url_secret"


def url_secret(settings: IncidentsSettings, data_dir: Path) -> bytes:
    """The configured snapshot URL key, else one generated once and kept (owner-only) in the data dir, so
    URLs already sent keep working across restarts."""
    configured = settings.delivery.url_secret.get_secret_value()
    if configured:
        return configured.encode()
    path = data_dir / URL_SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def build_incidents(
    settings: IncidentsSettings,
    engine: Engine,
    fleet: CameraDirectory,
    talkback: TalkbackService | None,
    data_dir: Path,
    clock: Clock,
) -> IncidentService:
    """Blocking (reads or writes the URL key): call from a thread in async code."""
    router = Router(settings)
    delivery = settings.delivery
    webhooks = WebhookSender(router.webhook_secret, delivery.timeout_s, clock.wall, max_connections=delivery.parallel)
    senders: dict[str, Sender] = {WEBHOOK: webhooks}
    community = settings.community
    media = MediaStore(data_dir)
    robots = RobotSender(
        router.matrix.robot,
        Style(ZoneInfo(community.timezone), community.console_url or delivery.public_url),
        delivery.timeout_s,
        clock,
        event_pictures(EventRepository(engine), media),
    )
    senders.update({kind.value: robots for kind in RobotKind})
    if settings.mqtt.enabled:
        senders[MQTT] = MqttSender(settings.mqtt, delivery.timeout_s, max_inflight=delivery.parallel)
    outbox = OutboxRepository(engine)
    parts = Parts(
        events=EventRepository(engine),
        outbox=outbox,
        media=media,
        router=router,
        signer=UrlSigner(delivery.public_url, url_secret(settings, data_dir), delivery.url_ttl_s),
        dispatcher=Dispatcher(outbox, senders, delivery, clock),
        deterrence=AutoDeterrence(settings.deterrence, talkback, clock),
        spots=IgnoredSpots(LearntRepository(engine), lambda: datetime.fromtimestamp(clock.wall(), UTC)),
        tips=TipDesk(
            settings.tips, TipRepository(engine), EventRepository(engine), fleet, data_dir,
            lambda: datetime.fromtimestamp(clock.wall(), UTC),
        ),
        search=EventSearch(engine, fleet),
    )
    return IncidentService(settings, fleet, parts, clock)
