"""PullPoint subscriptions against the device simulator: events delivered, renewal before expiry on an
injected clock, re-creation after the device drops or expires the subscription, unsubscribe on stop, the
limit on subscriptions; and a motion event switching a real simulated RTSP camera to ``active``."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from shopwatch.core.clock import ManualClock
from shopwatch.core.config import CameraConfig, Ingest
from shopwatch.core.health import ActivityMode, CameraState, EventsState
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.ingest.supervisor import Supervisor
from shopwatch.onvif.subscriptions import EventSubscriptions
from shopwatch.sim.clips import ClipSpec, generate_clip
from shopwatch.sim.onvif.device import SimDevice
from shopwatch.sim.onvif.server import OnvifSimServer
from shopwatch.sim.rtsp_server import SimServer
from tests.onvif.conftest import PASSWORD, USER, shop_profiles, spec

SETTINGS = OnvifSettings.model_validate(
    {
        "timeout_s": 3,
        "events": {"pull_timeout_s": 0.5, "subscription_s": 60, "retry_initial_s": 0.1, "retry_max_s": 0.5},
    }
)


def onvif_camera(camera_id: str, device: SimDevice, **extra: object) -> CameraConfig:
    host, port = device.base_url.removeprefix("http://").rsplit(":", 1)
    return CameraConfig.model_validate(
        {
            "id": camera_id, "name": camera_id, "grid": "g1", "host": host, "onvif_port": int(port),
            "credentials": {"username": USER, "password": PASSWORD}, "onvif": {"events": True}, **extra,
        }
    )  # fmt: skip


async def wait_for(predicate: Callable[[], bool], timeout_s: float) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.02)
    return time.monotonic() - start


class Motions:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, camera_id: str, reason: str) -> bool:
        self.calls.append((camera_id, reason))
        return True


@pytest.fixture
async def manager(sim_clock: ManualClock) -> AsyncIterator[tuple[EventSubscriptions, Motions]]:
    motions = Motions()
    subs = EventSubscriptions(SETTINGS, motions, clock=sim_clock)
    yield subs, motions
    await subs.stop()


async def test_motion_event_delivered_and_unsubscribed_on_stop(
    onvif_sim: OnvifSimServer, manager: tuple[EventSubscriptions, Motions]
) -> None:
    subs, motions = manager
    device = onvif_sim.add_device(spec())
    subs.apply([onvif_camera("cam-1", device)])
    await wait_for(lambda: (h := subs.health("cam-1")) is not None and h.state is EventsState.SUBSCRIBED, 15)
    onvif_sim.motion(device, topic="VideoSource/MotionAlarm")
    onvif_sim.motion(device, topic="RuleEngine/TamperDetector/Tamper")
    onvif_sim.motion(device, state=False)  # motion ended: counted, not an activity request
    await wait_for(
        lambda: (h := subs.health("cam-1")) is not None and h.tamper_events == 1 and h.motion_events == 2, 15
    )
    assert motions.calls == [("cam-1", "onvif VideoSource/MotionAlarm")]
    health = subs.health("cam-1")
    assert health is not None and health.tampered
    await subs.stop()
    assert device.counters.unsubscribes == 1 and onvif_sim.live_subscriptions(device) == 0


async def test_renewed_before_expiry_on_the_injected_clock(
    onvif_sim: OnvifSimServer, manager: tuple[EventSubscriptions, Motions], sim_clock: ManualClock
) -> None:
    subs, _ = manager
    device = onvif_sim.add_device(spec())
    subs.apply([onvif_camera("cam-1", device)])
    await wait_for(lambda: device.counters.subscriptions_created == 1, 5)
    for renewal in (1, 2, 3):  # 45 s of a 60 s grant (renewed at 70 %) each time: never expires on the device
        sim_clock.advance(45)
        # the device counts a renewal before its answer reaches us: wait for ours too (it schedules the next)
        await wait_for(lambda r=renewal: (h := subs.health("cam-1")) is not None and h.renewals == r, 3)
        assert device.counters.renewals == renewal
    assert device.counters.subscriptions_created == 1 and onvif_sim.live_subscriptions(device) == 1
    health = subs.health("cam-1")
    assert health is not None and health.renewals == 3 and health.state is EventsState.SUBSCRIBED


async def test_recreated_after_the_device_drops_it(
    onvif_sim: OnvifSimServer, manager: tuple[EventSubscriptions, Motions]
) -> None:
    subs, motions = manager
    device = onvif_sim.add_device(spec())
    subs.apply([onvif_camera("cam-1", device)])
    await wait_for(lambda: device.counters.subscriptions_created == 1, 5)
    onvif_sim.drop_subscriptions(device)  # as after a reboot: the next pull gets a fault
    await wait_for(lambda: device.counters.subscriptions_created == 2 and onvif_sim.live_subscriptions(device) == 1, 5)
    onvif_sim.motion(device)
    await wait_for(lambda: len(motions.calls) == 1, 3)
    health = subs.health("cam-1")
    assert health is not None and health.subscriptions_created == 2


async def test_recreated_after_it_expired_on_the_device(onvif_sim: OnvifSimServer) -> None:
    """The device's clock runs ahead of ours (a stalled renewal): the subscription expires there first."""
    motions = Motions()
    subs = EventSubscriptions(SETTINGS, motions, clock=ManualClock())
    try:
        device = onvif_sim.add_device(spec())
        subs.apply([onvif_camera("cam-1", device)])
        await wait_for(lambda: device.counters.subscriptions_created == 1, 5)
        device.clock.advance(61)  # type: ignore[attr-defined]
        await wait_for(lambda: device.counters.subscriptions_created == 2, 5)
        assert device.counters.renewals == 0
    finally:
        await subs.stop()


async def test_wrong_password_retries_and_shows_the_error(
    onvif_sim: OnvifSimServer, manager: tuple[EventSubscriptions, Motions]
) -> None:
    subs, _ = manager
    device = onvif_sim.add_device(spec())
    bad = onvif_camera("cam-1", device, credentials={"username": USER, "password": "wrong-pw"})
    subs.apply([bad])
    await wait_for(lambda: (h := subs.health("cam-1")) is not None and h.state is EventsState.RETRYING, 5)
    health = subs.health("cam-1")
    assert health is not None and "AuthRefused" in (health.last_error or "") and "wrong-pw" not in health.last_error


async def test_subscriptions_are_bounded(onvif_sim: OnvifSimServer, sim_clock: ManualClock) -> None:
    settings = SETTINGS.model_copy(update={"events": SETTINGS.events.model_copy(update={"max_subscriptions": 2})})
    subs = EventSubscriptions(settings, Motions(), clock=sim_clock)
    try:
        devices = [onvif_sim.add_device(spec()) for _ in range(3)]
        subs.apply([onvif_camera(f"cam-{i}", d) for i, d in enumerate(devices)])
        health = subs.all_health()
        assert [health[f"cam-{i}"].state for i in range(3)][2] is EventsState.OVER_LIMIT
        assert sum(1 for h in health.values() if h.state is not EventsState.OVER_LIMIT) == 2
        subs.apply([])  # cameras removed: their subscriptions end
        assert subs.all_health() == {}
    finally:
        await subs.stop()


FAST = Ingest(
    cameras_per_worker=10, open_timeout_s=3, read_timeout_s=2, stall_after_s=1, health_interval_s=0.1,
    backoff={"initial_s": 0.2, "max_s": 1.0, "auth_retry_s": 5},
)  # fmt: skip


@pytest.mark.rtsp
async def test_motion_event_makes_the_rtsp_camera_active_within_a_second(
    onvif_sim: OnvifSimServer, tmp_path: Path
) -> None:
    clip = generate_clip(ClipSpec("static", seconds=10), tmp_path)
    with SimServer() as rtsp:
        url = rtsp.add_camera("cam-01", clip)
        device = onvif_sim.add_device(spec(profiles=shop_profiles(url)))
        cam = onvif_camera("cam-01", device, streams={"detect": url})
        supervisor = Supervisor(FAST, log_level="warning")
        subs = EventSubscriptions(SETTINGS, supervisor.request_activity)
        try:
            await supervisor.start([cam])
            subs.apply([cam])
            await wait_for(lambda: (h := supervisor.health("cam-01")) is not None and h.state is CameraState.ONLINE, 10)
            await wait_for(lambda: (h := subs.health("cam-01")) is not None and h.state is EventsState.SUBSCRIBED, 5)
            await asyncio.sleep(0.5)
            before = supervisor.health("cam-01")
            assert before is not None and before.mode is ActivityMode.IDLE  # a static shop front stays idle
            onvif_sim.motion(device)
            took = await wait_for(
                lambda: (h := supervisor.health("cam-01")) is not None and h.mode is ActivityMode.ACTIVE, 1.0
            )
            assert took < 1.0
        finally:
            await subs.stop()
            await supervisor.stop()
