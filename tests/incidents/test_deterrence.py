"""Auto-deterrence end to end: detection events submitted to the real incidents service make the real talkback
service play a clip at GStreamer's ONVIF backchannel peer (``shopwatch.sim.backchannel``), which decodes what
arrives. Checked on the received audio (pitch and length), on the outcome stored with the event and on the
talkback audit (user ``auto-deterrence``); cooldown (injected clock), quiet hours, consent, a busy speaker,
an event type without a rule and an event below the rule's ``min_confidence`` play nothing and say why. A rule
with ``confirm`` plays only after an operator's acknowledgement in time; a ``dry_run`` rule plays nothing and
records what it would have done."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine

from shopwatch.core.clock import ManualClock
from shopwatch.core.events import Event, EventType
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.core.talkback_records import Outcome, TalkSession
from shopwatch.incidents.build import build_incidents
from shopwatch.incidents.deterrence import USER, AutoDeterrence
from shopwatch.incidents.service import IncidentService
from shopwatch.incidents.workflow import Status
from shopwatch.sim.backchannel import BackchannelServer
from shopwatch.store.db import create_engine_for, migrate
from shopwatch.store.talkback import AuditQuery
from shopwatch.talkback.access import SpeakerAccess
from shopwatch.talkback.live import LiveAudio, LiveInput
from shopwatch.talkback.records import Operator, TalkRequest
from shopwatch.talkback.service import TalkbackService
from tests.api.fakes import FakeFleet
from tests.api.routers.talkback_env import played_about, wav_tone
from tests.incidents.peers import make_event
from tests.talkback.harness import DAYTIME_WALL, build_service, speaker_camera
from tests.talkback.spectrum import peak_hz

pytestmark = pytest.mark.rtsp

CLIP_S = 1.2
CLIP_HZ = 1000
COOLDOWN_S = 120.0
ENDED = {"completed", "truncated", "failed", "cancelled", "preempted"}
LONG_S = 4.0  # the intrusion warning, long enough to be stopped half way on a loaded machine
STRONG = 0.97  # a card-posting event above the rules' min_confidence
CONFIRM_S = 60.0
RULES = [
    {"type": "card_posting", "clip": "warning_cards", "cameras": ["shop-confirm"], "min_confidence": 0.95,
     "confirm": {"within_s": CONFIRM_S}},
    {"type": "card_posting", "clip": "warning_cards", "cooldown_s": COOLDOWN_S, "min_confidence": 0.95},
    {"type": "intrusion", "clip": "warning_intrusion", "cameras": ["shop-a"], "min_confidence": 0.5,
     "allow_low_confidence": True},
    {"type": "loitering", "clip": "warning_cards", "cameras": ["shop-dry", "shop-quiet"], "min_confidence": 0.95,
     "dry_run": True},
]  # fmt: skip


@dataclass
class Scene:
    incidents: IncidentService
    talkback: TalkbackService
    clock: ManualClock
    peer: BackchannelServer
    restart: Callable[[], Awaitable[IncidentService]]  # a new incidents service on the same database and clock
    visits: int = 0

    async def submit(
        self, camera_id: str, type_: EventType = EventType.CARD_POSTING, confidence: float = STRONG
    ) -> Event:
        # Each call is another visit: starts 10 s apart (reports of one visit are stored once).
        event = make_event(camera_id, self.clock.wall() + 10.0 * self.visits, type_, confidence)
        self.visits += 1
        assert self.incidents.submit(event)
        return event

    async def outcome(self, event_id: str, wanted: set[str], timeout_s: float = 15.0) -> dict[str, Any]:
        """The deterrence outcome stored on the event, once it is one of ``wanted``."""
        deadline = time.monotonic() + timeout_s
        found: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            stored = await asyncio.to_thread(self.incidents.events.get, event_id)
            found = stored.deterrence if stored is not None else None
            if found is not None and found["outcome"] in wanted:
                return found
            await asyncio.sleep(0.02)
        raise AssertionError(f"expected a deterrence outcome in {sorted(wanted)} on {event_id}, found {found}")

    async def stored(self, event_id: str, timeout_s: float = 10.0) -> None:
        deadline = time.monotonic() + timeout_s
        while await asyncio.to_thread(self.incidents.events.get, event_id) is None:
            assert time.monotonic() < deadline, f"event {event_id} was not stored within {timeout_s} s"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)  # a deterrence task spawned with it has had its chance to record

    async def audit(self) -> list[TalkSession]:
        """The talkback audit of auto-deterrence, oldest first."""
        entries = await self.talkback.audit_entries(AuditQuery(user=USER))
        return sorted(entries, key=lambda e: e.requested_at)


async def speak(live: LiveAudio, pcm: bytes) -> None:
    """8 kHz PCM16 pushed in 20 ms chunks at real-time pace, like a microphone."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    for i in range(0, len(pcm), 320):
        await asyncio.sleep(max(0.0, start + i / 16_000 - loop.time()))
        live.push(pcm[i : i + 320])


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Iterator[Engine]:
    engine = create_engine_for(f"sqlite:///{tmp_path / 'db' / 'shopwatch.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def peer() -> Iterator[BackchannelServer]:
    with BackchannelServer(udp=False) as server:
        yield server


async def open_scene(engine: Engine, data_dir: Path, peer: BackchannelServer) -> AsyncIterator[Scene]:
    clock = ManualClock(wall_start=DAYTIME_WALL)  # 16:00 in Asia/Shanghai
    quiet = {"start": clock_time(15), "end": clock_time(17)}
    fleet = FakeFleet(
        [
            speaker_camera("shop-a", peer.url("pcma"), grid="3"),
            speaker_camera("shop-b", peer.url("pcmu"), grid="3"),
            speaker_camera("shop-confirm", peer.url("pcmu"), grid="3"),
            speaker_camera("shop-dry", peer.url("pcmu"), grid="3"),
            speaker_camera("shop-quiet", peer.url("pcmu"), grid="3", quiet_hours=quiet),
            speaker_camera("shop-private", peer.url("pcmu"), grid="3", allowed=False),
        ]
    )
    talkback = build_service(fleet, engine, data_dir, access=SpeakerAccess(), clock=clock)
    talkback.start()
    await talkback.library.add("warning_cards", "warning.wav", wav_tone(CLIP_HZ, CLIP_S), "admin")
    await talkback.library.add("warning_intrusion", "intrusion.wav", wav_tone(CLIP_HZ, LONG_S), "admin")
    settings = IncidentsSettings.model_validate(
        {"mqtt": {"enabled": False}, "linking": {"enabled": False}, "deterrence": RULES}
    )
    services: list[IncidentService] = []

    async def start() -> IncidentService:
        incidents = await asyncio.to_thread(build_incidents, settings, engine, fleet, talkback, data_dir, clock)
        await incidents.start()
        services.append(incidents)
        return incidents

    try:
        yield Scene(await start(), talkback, clock, peer, start)
    finally:
        for incidents in services:
            await asyncio.wait_for(incidents.close(), 15)
        await asyncio.wait_for(talkback.close(), 15)


@pytest.fixture
async def scene(sqlite_engine: Engine, tmp_path: Path, peer: BackchannelServer) -> AsyncIterator[Scene]:
    async for value in open_scene(sqlite_engine, tmp_path / "data", peer):
        yield value


async def test_card_posting_plays_the_clip_at_the_speaker(engine: Engine, tmp_path: Path) -> None:
    """On SQLite and PostgreSQL: the clip arrives with its pitch and length; the event and audit say so."""
    with BackchannelServer(udp=False) as peer:
        async for scene in open_scene(engine, tmp_path / "data", peer):
            event = await scene.submit("shop-a")
            done = await scene.outcome(event.id, ENDED)

            assert (done["outcome"], done["clip"], done["error"]) == ("completed", "warning_cards", None)
            assert played_about(done["played_s"], CLIP_S)
            reception = await asyncio.to_thread(peer.wait_for_audio, "pcma", CLIP_S - 0.1, 5.0)
            assert reception.seconds == pytest.approx(CLIP_S, rel=0.02)
            assert peak_hz(reception.pcm) == pytest.approx(CLIP_HZ, abs=10)
            [entry] = await scene.audit()
            assert (entry.id, entry.camera_id, entry.outcome, entry.source) == (
                done["session_id"], "shop-a", Outcome.COMPLETED, "clip"
            )  # fmt: skip
            assert (entry.codec, entry.protocol) == ("PCMA", "rtsp")
            assert played_about(entry.played_s, CLIP_S)


async def test_a_second_event_within_the_cooldown_does_not_play_again(scene: Scene) -> None:
    first = await scene.submit("shop-a")
    assert (await scene.outcome(first.id, ENDED))["outcome"] == "completed"
    scene.clock.advance(COOLDOWN_S - 1)
    second = await scene.submit("shop-a")
    cooled = await scene.outcome(second.id, {"cooldown"})
    assert "cooldown" in cooled["reason"] and "session_id" not in cooled

    scene.clock.advance(2)  # past the cooldown: the next visit is warned again
    third = await scene.submit("shop-a")
    assert (await scene.outcome(third.id, ENDED))["outcome"] == "completed"
    assert len(scene.peer.receptions("pcma")) == 2
    assert [e.outcome for e in await scene.audit()] == [Outcome.COMPLETED, Outcome.COMPLETED]


async def test_events_in_a_burst_play_the_clip_once(scene: Scene) -> None:
    """Events arriving back to back (one visit seen twice) do not race past the cooldown."""
    events = [await scene.submit("shop-a") for _ in range(3)]
    outcomes = [await scene.outcome(e.id, {*ENDED, "cooldown", "busy"}) for e in events]
    assert sorted(o["outcome"] for o in outcomes) == ["completed", "cooldown", "cooldown"]
    assert len(scene.peer.receptions("pcma")) == 1
    assert [e.outcome for e in await scene.audit()] == [Outcome.COMPLETED]


@pytest.mark.parametrize(
    ("camera_id", "reason"),
    [("shop-quiet", "quiet hours 15:00-17:00"), ("shop-private", "has not consented")],
)
async def test_quiet_hours_and_no_consent_are_refused_and_nothing_plays(
    scene: Scene, camera_id: str, reason: str
) -> None:
    event = await scene.submit(camera_id)
    refused = await scene.outcome(event.id, {"refused"})
    assert reason in refused["reason"]
    [entry] = await scene.audit()
    assert (entry.camera_id, entry.outcome) == (camera_id, Outcome.REFUSED)
    assert entry.error is not None and reason in entry.error
    assert scene.peer.requests() == [] and scene.peer.receptions() == []

    scene.clock.advance(1)  # a refusal starts no cooldown: it is refused again, with the reason
    again = await scene.submit(camera_id)
    assert (await scene.outcome(again.id, {"refused", "cooldown"}))["outcome"] == "refused"


async def test_a_speaker_in_live_use_is_busy_not_queued_nor_preempted(scene: Scene) -> None:
    talkback = scene.talkback
    live_session, live = await talkback.open_live("shop-b", LiveInput("pcm16", 8000), TalkRequest(Operator("alice")))
    event = await scene.submit("shop-b")
    busy = await scene.outcome(event.id, {"busy", *ENDED})

    assert busy["outcome"] == "busy" and "alice" in busy["reason"]
    holder = talkback.arbiter.holder("shop-b")
    assert holder is not None and holder.session_id == live_session.id
    assert talkback.arbiter.waiting("shop-b") == [] and not live_session.ended
    await speak(live, wav_tone(600, 0.8, rate=8000)[44:])  # the operator talks after all
    live.end()
    live_session = await asyncio.wait_for(talkback.wait_ended(live_session.id), 10)
    assert live_session.outcome is Outcome.COMPLETED
    [entry] = await scene.audit()
    assert (entry.camera_id, entry.outcome) == ("shop-b", Outcome.BUSY)
    reception = await asyncio.to_thread(scene.peer.wait_for_audio, "pcmu", 0.6, 5.0)
    assert peak_hz(reception.pcm) == pytest.approx(600, abs=10)  # the operator's voice, not the clip
    assert len(scene.peer.receptions("pcmu")) == 1


async def test_an_event_type_without_a_rule_plays_nothing(scene: Scene) -> None:
    events = [await scene.submit("shop-a", EventType.LOITERING), await scene.submit("shop-b", EventType.INTRUSION)]
    for event in events:  # no loitering rule; the intrusion rule is shop-a's only
        await scene.stored(event.id)
        stored = await asyncio.to_thread(scene.incidents.events.get, event.id)
        assert stored is not None and stored.deterrence is None
    assert scene.peer.requests() == [] and await scene.audit() == []


async def test_closing_the_service_mid_warning_stops_it_and_records_how_far_it_got(scene: Scene) -> None:
    event = await scene.submit("shop-a", EventType.INTRUSION)
    started = await scene.outcome(event.id, {"started"})
    await asyncio.to_thread(scene.peer.wait_for_audio, "pcma", 0.3, 5.0)
    await asyncio.wait_for(scene.incidents.close(), 10)

    stored = await asyncio.to_thread(scene.incidents.events.get, event.id)
    assert stored is not None and stored.deterrence is not None
    assert (stored.deterrence["outcome"], stored.deterrence["session_id"]) == ("cancelled", started["session_id"])
    assert 0.2 <= stored.deterrence["played_s"] < LONG_S - 1  # 0.3 s had arrived (sent a little ahead of time)
    assert scene.peer.receptions("pcma")[-1].seconds < LONG_S - 1
    assert scene.talkback.arbiter.holder("shop-a") is None
    [entry] = await scene.audit()
    assert entry.outcome is Outcome.CANCELLED


async def test_an_event_below_min_confidence_plays_nothing_and_says_why(scene: Scene) -> None:
    weak = await scene.submit("shop-a", confidence=0.9)
    skipped = await scene.outcome(weak.id, {"skipped", *ENDED})
    assert skipped["outcome"] == "skipped"
    assert "confidence 0.90 is below the rule's min_confidence 0.95" in skipped["reason"]
    assert scene.peer.requests() == [] and await scene.audit() == []

    strong = await scene.submit("shop-a", confidence=0.95)  # at the threshold: played (no cooldown was taken)
    assert (await scene.outcome(strong.id, ENDED))["outcome"] == "completed"


async def test_confirm_plays_only_after_an_operators_acknowledgement(scene: Scene) -> None:
    event = await scene.submit("shop-confirm")
    waiting = await scene.outcome(event.id, {"awaiting_confirmation", *ENDED})
    assert waiting["outcome"] == "awaiting_confirmation" and waiting["within_s"] == CONFIRM_S
    assert scene.peer.requests() == []

    scene.clock.advance(CONFIRM_S - 5)  # in time
    await scene.incidents.transition(event.id, Status.ACKNOWLEDGED, "alice", "seen it")
    done = await scene.outcome(event.id, ENDED)
    assert (done["outcome"], done["confirmed_by"]) == ("completed", "alice")
    reception = await asyncio.to_thread(scene.peer.wait_for_audio, "pcmu", CLIP_S - 0.1, 5.0)
    assert peak_hz(reception.pcm) == pytest.approx(CLIP_HZ, abs=10)
    assert [(e.camera_id, e.outcome) for e in await scene.audit()] == [("shop-confirm", Outcome.COMPLETED)]


async def test_confirm_too_late_or_false_positive_records_not_played(scene: Scene) -> None:
    late = await scene.submit("shop-confirm")
    wrong = await scene.submit("shop-confirm")
    for event in (late, wrong):
        await scene.outcome(event.id, {"awaiting_confirmation"})
    await scene.incidents.transition(wrong.id, Status.FALSE_POSITIVE, "alice", "a shadow")
    dismissed = await scene.outcome(wrong.id, {"not_played"})
    assert "marked false_positive" in dismissed["reason"]

    scene.clock.advance(CONFIRM_S + 1)  # the housekeeping loop notices the deadline passed
    expired = await scene.outcome(late.id, {"not_played"})
    assert f"not acknowledged within {CONFIRM_S:.0f} s" in expired["reason"]
    await scene.incidents.transition(late.id, Status.ACKNOWLEDGED, "bob", "")  # too late: still nothing
    await asyncio.sleep(0.3)
    stored = await asyncio.to_thread(scene.incidents.events.get, late.id)
    assert stored is not None and stored.deterrence is not None and stored.deterrence["outcome"] == "not_played"
    assert scene.peer.requests() == [] and await scene.audit() == []


async def test_a_confirmation_waits_again_after_a_restart_for_the_time_it_had_left(scene: Scene) -> None:
    """The wait for an acknowledgement is in memory; what a restarted service knows is the stored
    ``awaiting_confirmation`` and its deadline: an acknowledgement in time still plays, a deadline that passed
    while the service was down is recorded not played."""
    lapsed = await scene.submit("shop-confirm")
    await scene.outcome(lapsed.id, {"awaiting_confirmation"})
    scene.clock.advance(30)
    kept = await scene.submit("shop-confirm")
    await scene.outcome(kept.id, {"awaiting_confirmation"})
    await asyncio.wait_for(scene.incidents.close(), 15)

    scene.clock.advance(40)  # down for 40 s: ``lapsed`` is 10 s past its 60 s, ``kept`` has 20 s left
    incidents = await scene.restart()
    expired = await scene.outcome(lapsed.id, {"not_played"})
    assert "restarted" in expired["reason"]
    assert (await scene.outcome(kept.id, {"awaiting_confirmation"}))["within_s"] == CONFIRM_S
    scene.clock.advance(10)
    await incidents.transition(kept.id, Status.ACKNOWLEDGED, "alice", "after the restart")
    done = await scene.outcome(kept.id, ENDED)
    assert (done["outcome"], done["confirmed_by"]) == ("completed", "alice")
    assert [(e.camera_id, e.outcome) for e in await scene.audit()] == [("shop-confirm", Outcome.COMPLETED)]


async def test_a_dry_run_records_what_would_have_played_and_plays_nothing(scene: Scene) -> None:
    would = await scene.submit("shop-dry", EventType.LOITERING)
    quiet = await scene.submit("shop-quiet", EventType.LOITERING)
    again = await scene.submit("shop-dry", EventType.LOITERING)  # within the cooldown of the dry run

    played = await scene.outcome(would.id, {"dry_run"})
    assert (played["would"], played["clip"]) == ("play", "warning_cards")
    refused = await scene.outcome(quiet.id, {"dry_run"})
    assert refused["would"] == "refused" and "quiet hours 15:00-17:00" in refused["reason"]
    assert (await scene.outcome(again.id, {"dry_run"}))["would"] == "cooldown"
    assert scene.peer.requests() == [] and await scene.audit() == []

    real = await scene.submit("shop-dry")  # a dry run holds back no real warning on that camera
    assert (await scene.outcome(real.id, ENDED))["outcome"] == "completed"


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ({"type": "card_posting", "clip": "w"}, "min_confidence\n  Field required"),
        ({"type": "card_posting", "clip": "w", "min_confidence": 0.9}, "expected at least 0.95"),
        ({"type": "card_posting", "clip": "w", "min_confidence": 0.95, "confirm": {"within_s": 0}}, "greater than 0"),
    ],
)
def test_a_rule_without_a_strong_min_confidence_is_refused_at_load(rule: dict[str, Any], error: str) -> None:
    with pytest.raises(ValidationError, match="deterrence.0") as caught:
        IncidentsSettings.model_validate({"deterrence": [rule]})
    assert error in str(caught.value)


def test_a_weak_rule_needs_allow_low_confidence_and_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    rule = {"type": "loitering", "clip": "w", "min_confidence": 0.6, "allow_low_confidence": True}
    settings = IncidentsSettings.model_validate({"deterrence": [rule]})
    with caplog.at_level(logging.WARNING, logger="shopwatch.incidents.deterrence"):
        AutoDeterrence(settings.deterrence, None, ManualClock())
    assert "below the measured 0.95-precision point" in caplog.text
