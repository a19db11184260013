"""Group-chat robots against fake vendor servers that check each documented format and signature: an alert
reaches a WeCom, DingTalk and Feishu robot in Chinese with the shop, address, grid, type, local time, a signed
picture link and a console link; a robot answering HTTP 200 with an error code is retried; a burst of 100
events in 10 s (injected clock) reaches every robot in at most 20 messages a minute, every event in some
message; the key never reaches the outbox or the log."""

from __future__ import annotations

import base64
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import Engine

from shopwatch.core.clock import ManualClock, SystemClock
from shopwatch.core.community_config import Community
from shopwatch.core.incident_records import NewDelivery, NewEvent
from shopwatch.core.incidents_config import DeliverySettings, IncidentsSettings
from shopwatch.incidents.dispatcher import Dispatcher
from shopwatch.incidents.matrix import GroupMatrix
from shopwatch.incidents.robots.message import Style
from shopwatch.incidents.robots.sender import RobotSender
from shopwatch.incidents.robots.wire import wecom_image
from shopwatch.store.events import EventRepository
from shopwatch.store.outbox import DeliveryQuery, OutboxRepository
from tests.api.fakes import FakeFleet, jpeg_bytes, make_camera
from tests.incidents.peers import bounded, build, make_event, wait_for
from tests.incidents.robot_servers import RobotServers
from tests.store.test_events import make_event as stored_event

KEY = "3f1c9a2e-robot-key-7d41"
SECRET = "SEC0123456789abcdef-signing-secret"
PATHS = {"wecom": "/cgi-bin/webhook/send", "dingtalk": "/robot/send", "feishu": "/open-apis/bot/v2/hook"}
KINDS = list(PATHS)


def community(server: RobotServers, kind: str, **robot: Any) -> dict[str, Any]:
    bot = {"name": "yj-1", "kind": kind, "key": KEY, "secret": SECRET, "url": server.base + PATHS[kind],
           "allow_plain_http": True, **robot}  # fmt: skip
    return {"groups": [{"name": "义警", "robots": [bot]}], "rules": [{"types": ["card_posting"], "groups": ["义警"]}]}


def settings(server: RobotServers, kind: str) -> IncidentsSettings:
    return IncidentsSettings.model_validate(
        {
            "mqtt": {"enabled": False},
            "delivery": {
                "backoff_initial_s": 0.05,
                "backoff_max_s": 0.2,
                "timeout_s": 2.0,
                "public_url": "https://shopwatch.example",
            },  # fmt: skip
            "linking": {"enabled": False},
            "community": community(server, kind, per_minute=600),
        }
    )


@pytest.fixture
async def server() -> Any:
    robots = RobotServers(KEY, SECRET, time.time)
    await robots.start()
    yield robots
    await robots.stop()


@pytest.mark.parametrize("kind", KINDS)
async def test_alert_reaches_each_robot_signed_and_in_chinese(
    kind: str, server: RobotServers, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    service = build(settings(server, kind), engine, FakeFleet([make_camera(1, "north")]), tmp_path, SystemClock())
    await service.start()
    server.refuse = [-1 if kind == "wecom" else 9999]  # the robot's first answer: HTTP 200 with an error code
    start = time.time()
    try:
        stored = await service.ingest(make_event("cam-0001", start))
        await wait_for(lambda: service.outbox.counts().get("delivered") == 1, what="the robot delivery")
    finally:
        await bounded(service.close(), "closing the service")
    [delivery] = service.outbox.find(DeliveryQuery(event_id=stored.id))
    assert (delivery.channel, delivery.team, delivery.target) == (kind, "义警", "义警/yj-1")
    assert delivery.attempts == 2  # refused once (errcode ≠ 0), then accepted
    assert server.refused == [(kind, -1 if kind == "wecom" else 9999)]
    [message, *pictures] = server.received
    assert message.event_ids == [stored.id]
    if kind == "wecom":  # then the picture, a message of its own (the fake robot checks its md5 and size)
        [picture] = pictures
        assert picture.doc["msgtype"] == "image"
        assert base64.b64decode(picture.doc["image"]["base64"]) == jpeg_bytes()
    else:  # their markdown shows the signed link's picture
        assert pictures == []
    local = datetime.fromtimestamp(start, ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M:%S")
    for fact in ("贴卡", "Merchant 1", "1 Long Street", "north", local, "https://shopwatch.example/console/"):
        assert fact in message.text, fact
    assert "https://shopwatch.example/media/events/" in message.text and "sig=" in message.text
    if kind == "dingtalk":
        assert message.doc["markdown"]["title"].startswith("【贴卡告警】")
    if kind == "feishu":
        assert message.doc["content"]["post"]["zh_cn"]["title"] == "【贴卡告警】Merchant 1"
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("shopwatch"))
    everything = ours + repr(delivery)
    assert KEY not in everything and SECRET not in everything


async def test_wecom_picture_message_has_the_md5_of_the_bytes(server: RobotServers) -> None:
    request = wecom_image(server.base + PATHS["wecom"], KEY, jpeg_bytes())
    async with aiohttp.ClientSession() as session, session.post(request.url, data=request.body) as answer:
        assert await answer.json() == {"errcode": 0, "errmsg": "ok"}
    assert server.received[0].doc["msgtype"] == "image"
    with pytest.raises(ValueError, match="at most"):
        wecom_image(server.base, KEY, b"\xff" * (2 * 1024 * 1024 + 1))
    with pytest.raises(ValueError, match="JPEG or PNG"):
        wecom_image(server.base, KEY, b"GIF89a" + b"\x00" * 100)


def _payload(event_id: str, n: int, wall: float) -> dict[str, Any]:
    return {
        "delivery_id": f"d-{event_id}", "reason": "alert", "event_id": event_id, "type": "card_posting",
        "time": datetime.fromtimestamp(wall, UTC).isoformat().replace("+00:00", "Z"),
        "camera": {"id": f"cam-{n:04d}", "name": f"Shop {n}"}, "merchant": {"name": f"张记串店{n}号", "phone": ""},
        "address": f"长街{n}号", "grid": "north",
        "snapshots": {"actor": f"https://shopwatch.example/media/events/{event_id}/actor.jpg?expires=1&sig={'a' * 64}"},
    }  # fmt: skip


@pytest.mark.parametrize(("kind", "pictures"), [*((kind, False) for kind in KINDS), ("wecom", True)])
async def test_burst_of_100_events_in_10_s_merges_into_at_most_20_messages_a_minute(
    kind: str, pictures: bool, engine: Engine
) -> None:
    """With pictures (WeCom): a one-event message's picture is a message too, within the same 20 a minute."""
    clock = ManualClock()
    server = RobotServers(KEY, SECRET, clock.wall)
    await server.start()
    config = Community.model_validate(community(server, kind))  # 20 a minute, burst 5: the vendors' limit
    style = Style(ZoneInfo("Asia/Shanghai"), "https://sw.example")
    sender = RobotSender(GroupMatrix(config).robot, style, 2.0, clock, (lambda _id: jpeg_bytes()) if pictures else None)
    outbox = OutboxRepository(engine)
    dispatcher = Dispatcher(outbox, {kind: sender}, DeliverySettings(), clock)
    events = EventRepository(engine)
    try:
        for n in range(100):  # one event every 0.1 s
            event = stored_event(n)
            now = datetime.fromtimestamp(clock.wall(), UTC)
            payload = _payload(event.id, n, clock.wall())
            events.add_many([NewEvent(event, [NewDelivery(f"d{n:03d}", event.id, "alert", "义警", kind, "义警/yj-1",
                                                          payload, now)])])  # fmt: skip
            await dispatcher.run_due()
            clock.advance(0.1)
        for _ in range(1200):  # then up to 20 minutes, a second at a time, until everything is delivered
            if outbox.counts().get("delivered") == 100:
                break
            clock.advance(1.0)
            await dispatcher.run_due()
    finally:
        await sender.close()
        await server.stop()
    assert outbox.counts().get("delivered") == 100
    carried = [event_id for message in server.received for event_id in message.event_ids]
    assert sorted(carried) == sorted(f"ev{n:04d}" for n in range(100))  # every event, each in one message
    times = [m.at for m in server.received]
    busiest = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    assert busiest <= 20
    assert len(server.received) < 100 and any("告警汇总" in m.text for m in server.received)
    assert sender.merged > 0
    images = [m for m in server.received if m.doc.get("msgtype") == "image"]
    assert len(images) == sender.pictures and (sender.pictures > 0) is pictures
    if pictures:  # each picture right after its one-event message; the digests carry links only
        for image in images:
            before = server.received[server.received.index(image) - 1]
            assert len(before.event_ids) == 1 and "告警汇总" not in before.text
