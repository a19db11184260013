"""``EventSubscriptions``: the PullPoint subscriptions of the service process, one asyncio task per camera
whose registry entry says ``onvif.events``, at most ``onvif.events.max_subscriptions`` of them.

A motion event that starts is handed to ``on_motion(camera_id, reason)`` (the supervisor's
``request_activity``), which switches the camera to ``active`` without waiting for packet-size or keyframe
motion. Runs in the main process beside the supervisor, not in the ingest workers: a subscription is one
long-poll HTTP request at a time, cheap on one event loop, and keeps the workers' reader threads to RTSP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from shopwatch.core.clock import Clock, SystemClock
from shopwatch.core.config import CameraConfig
from shopwatch.core.health import EventsHealth, EventsState
from shopwatch.core.onvif_config import OnvifSettings
from shopwatch.onvif.device import OnvifDevice, OnvifTarget
from shopwatch.onvif.events import EventKind, OnvifEvent
from shopwatch.onvif.pullpoint import Opener, PullPointSubscription

log = logging.getLogger(__name__)
STOP_TIMEOUT_S = 5.0


def target_of(camera: CameraConfig, allowed_hosts: Sequence[str] = ()) -> OnvifTarget:
    return OnvifTarget(
        camera.host,
        camera.onvif_port,
        camera.credentials.username,
        camera.credentials.password.get_secret_value(),
        tuple(allowed_hosts),
    )


def wants_events(camera: CameraConfig) -> bool:
    return camera.enabled and camera.onvif is not None and camera.onvif.events


@dataclass
class _Running:
    target: OnvifTarget
    subscription: PullPointSubscription
    task: asyncio.Task[None]


class EventSubscriptions:
    def __init__(
        self,
        settings: OnvifSettings,
        on_motion: Callable[[str, str], object],
        clock: Clock | None = None,
        open_device: Opener | None = None,
    ) -> None:
        self._settings = settings
        self._on_motion = on_motion
        self._clock = clock or SystemClock()
        self._open = open_device or self._open_device
        self._running: dict[str, _Running] = {}
        self._over_limit: dict[str, EventsHealth] = {}
        self._stopping: set[asyncio.Task[None]] = set()

    async def _open_device(self, target: OnvifTarget) -> OnvifDevice:
        return await OnvifDevice.open(
            target, timeout_s=self._settings.timeout_s, clock_tolerance_s=self._settings.clock_tolerance_s
        )

    def apply(self, cameras: Iterable[CameraConfig]) -> None:
        """Subscribe exactly the cameras that want events (up to the limit, by id); call on the event loop."""
        events = self._settings.events
        allowed = self._settings.allowed_hosts
        wanted = {c.id: target_of(c, allowed) for c in sorted(cameras, key=lambda c: c.id) if wants_events(c)}
        if not events.enabled:
            wanted = {}
        for camera_id in list(self._running):
            if wanted.get(camera_id) != self._running[camera_id].target:
                self._cancel(camera_id)
        self._over_limit = {}
        for camera_id, target in wanted.items():
            if camera_id in self._running:
                continue
            if len(self._running) >= events.max_subscriptions:
                self._over_limit[camera_id] = EventsHealth(
                    EventsState.OVER_LIMIT,
                    since=self._clock.wall(),
                    last_error=f"onvif.events.max_subscriptions ({events.max_subscriptions}) reached",
                )
                continue
            subscription = PullPointSubscription(camera_id, target, events, self._open, self._deliver, self._clock)
            task = asyncio.create_task(subscription.run(), name=f"onvif-events-{camera_id}")
            self._running[camera_id] = _Running(target, subscription, task)
        if self._over_limit:
            log.warning("%d cameras get no ONVIF events: max_subscriptions reached", len(self._over_limit))

    def _cancel(self, camera_id: str) -> None:
        running = self._running.pop(camera_id)
        running.task.cancel()
        self._stopping.add(running.task)
        running.task.add_done_callback(self._stopping.discard)

    def _deliver(self, camera_id: str, event: OnvifEvent) -> None:
        log.debug("%s: ONVIF %s %s (%s)", camera_id, event.kind.value, "on" if event.active else "off", event.topic)
        if event.kind is EventKind.MOTION and event.active:
            self._on_motion(camera_id, f"onvif {event.topic}")

    async def stop(self) -> None:
        """Stop every subscription (each unsubscribes, bounded by the request timeout)."""
        for camera_id in list(self._running):
            self._cancel(camera_id)
        pending = list(self._stopping)
        if pending:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._settings.timeout_s + STOP_TIMEOUT_S):  # not wait_for (3.11)
                    await asyncio.gather(*pending, return_exceptions=True)

    def health(self, camera_id: str) -> EventsHealth | None:
        running = self._running.get(camera_id)
        return running.subscription.health if running is not None else self._over_limit.get(camera_id)

    def all_health(self) -> dict[str, EventsHealth]:
        out = {camera_id: r.subscription.health for camera_id, r in self._running.items()}
        out.update(self._over_limit)
        return out
