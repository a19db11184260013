"""Alerts that are never lost, against real peers: mosquitto subscribers get their grid's alerts only; a
broker that goes away during a burst gets every alert once it is back, each delivery id once; a webhook
receiver checks the HMAC and gets retries after 500s; a restart mid-delivery still delivers."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from shopwatch.core.clock import SystemClock
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.store.outbox import DeliveryQuery
from tests.api.fakes import FakeFleet, make_camera
from tests.incidents.peers import Mosquitto, Subscriber, WebhookReceiver, bounded, build, make_event, wait_for

SECRET = "k" * 32
FAST_RETRY = {"backoff_initial_s": 0.1, "backoff_max_s": 0.5, "backoff_jitter": 0.1, "timeout_s": 2.0}


def fleet() -> FakeFleet:
    return FakeFleet([make_camera(1, "north"), make_camera(2, "north"), make_camera(3, "south")])


def settings(prefix: str, port: int = 1883, webhooks: list[dict[str, Any]] | None = None) -> IncidentsSettings:
    topic = f"{prefix}/alerts/{{grid}}/{{type}}"
    return IncidentsSettings.model_validate(
        {
            "teams": [
                {
                    "name": "north-patrol",
                    "grids": ["north"],
                    "channels": {"mqtt_topic": topic, "webhooks": webhooks or []},
                },
                {"name": "south-patrol", "grids": ["south"], "channels": {"mqtt_topic": topic}},
            ],
            "supervisor": {"mqtt_topic": f"{prefix}/escalations/{{grid}}/{{type}}"},
            "mqtt": {"port": port},
            "delivery": {**FAST_RETRY, "public_url": "https://shopwatch.example"},
            "linking": {"enabled": False},
        }
    )


async def test_subscriber_gets_its_grid_only(engine: Engine, tmp_path: Path) -> None:
    prefix = f"sw-test-{uuid.uuid4().hex[:8]}"
    north = Subscriber(1883, [f"{prefix}/alerts/north/#"])
    await north.start()
    service = build(settings(prefix), engine, fleet(), tmp_path, SystemClock())
    await service.start()
    try:
        now = time.time()
        service.submit(make_event("cam-0003", now))  # south
        service.submit(make_event("cam-0001", now + 1))  # north
        await wait_for(lambda: len(north.messages) >= 1, what="the north alert")
        await wait_for(lambda: service.outbox.counts()["delivered"] == 2, what="both deliveries")
    finally:
        await bounded(service.close(), "closing the service")
        await bounded(north.stop(), "stopping the subscriber")
    assert len(north.messages) == 1
    topic, payload, _ = north.messages[0]
    assert topic == f"{prefix}/alerts/north/card_posting"
    assert payload["camera"] == {"id": "cam-0001", "name": "Shop 1 entrance"}
    assert payload["merchant"]["name"] == "Merchant 1" and payload["address"] == "1 Long Street"
    assert payload["grid"] == "north" and payload["type"] == "card_posting" and payload["reason"] == "alert"
    assert payload["location"] == {"lat": 39.9001, "lon": 116.4}
    assert payload["time"].endswith("Z")
    url = payload["snapshots"]["actor"]
    assert url.startswith("https://shopwatch.example/media/events/") and "sig=" in url
    stored = service.outbox.get(payload["delivery_id"])
    assert stored is not None and stored.state == "delivered" and stored.attempts == 1


async def test_broker_outage_during_a_burst_loses_nothing(engine: Engine, tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    await broker.start()
    prefix = "burst"
    sub = Subscriber(broker.port, [f"{prefix}/alerts/#"], persistent=True)
    await sub.start()
    service = build(settings(prefix, broker.port), engine, fleet(), tmp_path / "data", SystemClock())
    await service.start()
    try:
        service.submit(make_event("cam-0001", time.time()))
        await wait_for(lambda: len(sub.messages) == 1, what="the first alert")
        await sub.stop()
        await broker.stop()
        burst = 30
        for i in range(burst):
            service.submit(make_event(f"cam-000{1 + i % 3}", time.time() + 10 * (i + 1)))  # 30 visits
        pending = lambda: service.outbox.find(DeliveryQuery(state=None, limit=1000))  # noqa: E731
        await wait_for(
            lambda: sum(d.attempts > 0 and d.state == "pending" for d in pending()) == burst, what="failed attempts"
        )
        await broker.start()
        await sub.start()
        await wait_for(lambda: len(sub.messages) == burst + 1, timeout_s=20, what="every alert after the outage")
        await wait_for(lambda: service.outbox.counts() == {"pending": 0, "delivered": burst + 1, "failed": 0})
    finally:
        await bounded(service.close(), "closing the service")
        await sub.stop()
        await broker.stop()
    ids = sub.delivery_ids()
    assert len(ids) == len(set(ids)) == burst + 1
    assert service.dispatcher.retried >= burst
    assert service.dispatcher.__class__.__name__ == "Dispatcher"


async def test_webhook_signed_retried_and_delivered_after_restart(engine: Engine, tmp_path: Path) -> None:
    receiver = WebhookReceiver(SECRET.encode(), answers=[500, 500])
    await receiver.start()
    hooks = [{"url": receiver.url, "secret": SECRET, "allow_plain_http": True}]  # a loopback receiver
    conf = settings("unused", webhooks=hooks).model_copy(
        update={"mqtt": settings("x").mqtt.model_copy(update={"enabled": False})}
    )
    service = build(conf, engine, fleet(), tmp_path, SystemClock())
    await service.start()
    try:
        stored = await service.ingest(make_event("cam-0001", time.time()))
        await wait_for(lambda: len(receiver.requests) == 3, what="two 500s and a retry")
        await wait_for(lambda: service.outbox.counts()["delivered"] == 1)
        # the receiver now fails for good; the service stops with the delivery still pending
        receiver.always = 503
        second = await service.ingest(make_event("cam-0002", time.time()))
        await wait_for(lambda: len(receiver.requests) >= 5, what="failing attempts")
    finally:
        await bounded(service.close(), "closing the service")
    payloads = [p for p, _, _, _ in receiver.requests]
    assert all(good for _, _, good, _ in receiver.requests)
    first_ids = {p["delivery_id"] for p in payloads if p["event_id"] == stored.id}
    assert len(first_ids) == 1  # the same delivery three times: the receiver can de-duplicate
    headers = receiver.requests[0][1]
    assert headers["Idempotency-Key"] == headers["X-Shopwatch-Delivery"] == first_ids.pop()
    (pending,) = service.outbox.find(DeliveryQuery(event_id=second.id))
    assert pending.state == "pending" and pending.last_error == f"webhook {receiver.url} answered 503"

    receiver.always = 200
    restarted = build(conf, engine, fleet(), tmp_path, SystemClock())
    await restarted.start()
    try:
        await wait_for(lambda: restarted.outbox.counts() == {"pending": 0, "delivered": 2, "failed": 0})
    finally:
        await bounded(restarted.close(), "closing the service")
        await bounded(receiver.stop(), "stopping the receiver")
    assert receiver.requests[-1][0]["delivery_id"] == pending.id


async def test_refused_webhook_fails_for_good(engine: Engine, tmp_path: Path) -> None:
    receiver = WebhookReceiver(SECRET.encode(), always=404)
    await receiver.start()
    conf = settings("unused", webhooks=[{"url": receiver.url, "secret": SECRET, "allow_plain_http": True}])
    conf = conf.model_copy(update={"mqtt": conf.mqtt.model_copy(update={"enabled": False})})
    service = build(conf, engine, fleet(), tmp_path, SystemClock())
    await service.start()
    try:
        await service.ingest(make_event("cam-0001", time.time()))
        await wait_for(lambda: service.outbox.counts()["failed"] == 1)
    finally:
        await bounded(service.close(), "closing the service")
        await bounded(receiver.stop(), "stopping the receiver")
    assert len(receiver.requests) == 1
