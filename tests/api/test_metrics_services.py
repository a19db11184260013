"""/metrics families for ONVIF event subscriptions (from the fleet's health) and for the talkback service (a
real ``TalkbackService`` with speakers in memory: sessions, speaker queues, dropped live frames, the audit)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine

from shopwatch.api.metrics import build_registry
from shopwatch.core.health import CameraState, EventsHealth, EventsState
from shopwatch.core.talkback_records import SourceKind
from shopwatch.store.db import create_engine_for, migrate
from shopwatch.talkback.audio import tone
from shopwatch.talkback.live import LiveInput
from shopwatch.talkback.records import Operator, Sound, TalkRequest
from tests.api.fakes import FakeFleet, make_camera, make_health
from tests.talkback.harness import MemorySpeakers, build_service


def samples(registry_text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(registry_text)
        for s in family.samples
    }


def scrape(fleet: FakeFleet, talkback: object = None) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return samples(generate_latest(build_registry(fleet, talkback)).decode())  # type: ignore[arg-type]


def test_onvif_subscriptions_per_state_and_events_per_camera() -> None:
    cams = [make_camera(i) for i in (1, 2, 3)]
    health = [make_health(c, CameraState.ONLINE) for c in cams]
    health[0] = dataclasses.replace(
        health[0], events=EventsHealth(EventsState.SUBSCRIBED, 0.0, motion_events=7, tamper_events=1)
    )
    health[1] = dataclasses.replace(health[1], events=EventsHealth(EventsState.RETRYING, 0.0, last_error="refused"))
    got = scrape(FakeFleet(cams, health))
    states = {dict(labels)["state"]: v for (name, labels), v in got.items() if name == "shopwatch_onvif_subscriptions"}
    assert states == {"starting": 0, "subscribed": 1, "retrying": 1, "over_limit": 0}
    assert got[("shopwatch_onvif_motion_events_total", (("camera", "cam-0001"),))] == 7
    assert got[("shopwatch_onvif_tamper_events_total", (("camera", "cam-0001"),))] == 1
    assert got[("shopwatch_onvif_motion_events_total", (("camera", "cam-0002"),))] == 0
    assert ("shopwatch_onvif_motion_events_total", (("camera", "cam-0003"),)) not in got  # no subscription
    assert not any(name.startswith("shopwatch_talkback") for name, _ in got)  # no talkback service


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'talk.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


async def test_talkback_sessions_queues_dropped_live_frames_and_audit(engine: Engine, tmp_path: Path) -> None:
    cam = make_camera(1)
    cam = cam.model_copy(update={"talkback": cam.talkback.model_copy(update={"capable": True, "allowed": True})})
    fleet = FakeFleet([cam], [make_health(cam, CameraState.ONLINE)])
    service = build_service(fleet, engine, tmp_path, access=MemorySpeakers().access())
    service.start()
    try:
        alice, bob = TalkRequest(Operator("alice")), TalkRequest(Operator("bob"), queue=True)
        first = await service.play(cam.id, Sound(SourceKind.CLIP, pcm=tone(440, 5.0)), alice)
        second = await service.play(cam.id, Sound(SourceKind.CLIP, pcm=tone(440, 1.0)), bob)
        await service.audit.flush()
        got = scrape(fleet, service)
        assert got[("shopwatch_talkback_sessions", (("state", "active"),))] == 1
        assert got[("shopwatch_talkback_sessions", (("state", "queued"),))] == 1
        assert got[("shopwatch_talkback_speaker_queue_length", (("camera", cam.id),))] == 1
        assert got[("shopwatch_talkback_audit_written_total", ())] == 2
        assert got[("shopwatch_talkback_audit_write_failures_total", ())] == 0
        # A live operator preempts the clip; the queued clip is cancelled; the live client runs far ahead.
        await service.cancel(second.id)
        session, live = await service.open_live(cam.id, LiveInput("pcm16", 8000), TalkRequest(Operator("carol")))
        live.push(b"\x00\x00" * 8000)  # one second at once: more than live_buffer_ms can hold
        live.end()
        await asyncio.wait_for(service.wait_ended(session.id), 10)
        await asyncio.wait_for(service.wait_ended(first.id), 10)
        dropped = scrape(fleet, service)[("shopwatch_talkback_live_frames_dropped_total", ())]
        assert dropped == live.frames_dropped > 0
        # The audit table disappears: the talk goes on, the failures are counted.
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE talkback_audit")
        await service.play(cam.id, Sound(SourceKind.CLIP, pcm=tone(440, 0.1)), alice)
        await service.audit.flush()
        got = scrape(fleet, service)
        assert got[("shopwatch_talkback_audit_write_failures_total", ())] >= 1
        assert got[("shopwatch_talkback_audit_pending", ())] == 0
    finally:
        await service.close()
