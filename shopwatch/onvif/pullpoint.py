"""One camera's PullPoint subscription (ONVIF Core Specification §9.1.1, Real-time Pull-Point Notification
Interface): create it, pull with a bounded wait, renew before the device ends it, re-create it after any
failure (with backoff), unsubscribe when stopped.

Renewal is decided on the injected clock: after each pull (which waits at most ``pull_timeout_s``), a
subscription past ``renew_fraction`` of the time the device granted is renewed. The settings guarantee a pull
cannot outlast the rest of the grant."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from shopwatch.core.clock import Clock
from shopwatch.core.config import Backoff
from shopwatch.core.errors import AuthRefused, PeerProtocolError, ShopwatchError
from shopwatch.core.health import EventsHealth, EventsState
from shopwatch.core.onvif_config import OnvifEvents
from shopwatch.core.redact import redact_text
from shopwatch.ingest.backoff import ReconnectBackoff
from shopwatch.onvif.device import OnvifDevice, OnvifTarget
from shopwatch.onvif.device_urls import check_device_url
from shopwatch.onvif.durations import format_duration
from shopwatch.onvif.events import EventKind, OnvifEvent, parse_notification
from shopwatch.onvif.soap import TEV

log = logging.getLogger(__name__)
PULLPOINT_NS = f"{TEV}/PullPointSubscription"
MESSAGE_LIMIT = 64

Opener = Callable[[OnvifTarget], Awaitable[OnvifDevice]]
OnEvent = Callable[[str, OnvifEvent], None]


class PullPointSubscription:
    """Runs (``run()``, as a task) until cancelled; ``health`` says how it is doing."""

    def __init__(
        self, camera_id: str, target: OnvifTarget, settings: OnvifEvents, open_device: Opener, on_event: OnEvent,
        clock: Clock,
    ) -> None:  # fmt: skip
        self.camera_id = camera_id
        self.target = target
        self._settings = settings
        self._open = open_device
        self._on_event = on_event
        self._clock = clock
        self._renew_at = 0.0
        self._retry_delay = 0.0
        self.health = EventsHealth(EventsState.STARTING, since=clock.wall())
        backoff = Backoff(
            initial_s=settings.retry_initial_s, max_s=settings.retry_max_s, auth_retry_s=max(5.0, settings.retry_max_s)
        )
        self._backoff = ReconnectBackoff(backoff)

    def _set(self, **changes: Any) -> None:
        state = changes.get("state")
        if state is not None and state != self.health.state:
            changes["since"] = self._clock.wall()
        self.health = replace(self.health, **changes)

    async def run(self) -> None:
        while True:
            try:
                await self._session()
            except ShopwatchError as exc:
                delay = self._backoff.auth_delay() if isinstance(exc, AuthRefused) else self._backoff.next_delay()
                self._failed(exc, delay)
            except Exception as exc:  # task boundary: a bug here must not end this camera's events for good
                log.exception("%s: event subscription failed", self.camera_id)
                self._failed(exc, self._backoff.next_delay())
            else:
                return
            await asyncio.sleep(self._retry_delay)

    def _failed(self, exc: BaseException, delay: float) -> None:
        message = redact_text(f"{type(exc).__name__}: {exc}", (self.target.password,))
        log.warning("%s: event subscription lost (%s); re-creating in %.1f s", self.camera_id, message, delay)
        self._retry_delay = delay
        self._set(state=EventsState.RETRYING, last_error=message)

    async def _session(self) -> None:
        device = await self._open(self.target)
        try:
            events = await device.call(device.camera.create_events_service)
            created = await device.call(
                lambda: events.CreatePullPointSubscription(
                    {"InitialTerminationTime": format_duration(self._settings.subscription_s)}
                )
            )
            address = created.SubscriptionReference.Address._value_1
            if not address:
                raise PeerProtocolError(f"{self.target}: CreatePullPointSubscription gave no address")
            # we log in there: on the camera (or an allowed host)
            check_device_url(address, self.target.host, self.target.allowed_hosts, what="PullPoint address")
            device.camera.xaddrs[PULLPOINT_NS] = address
            manager = await device.call(lambda: device.camera.create_subscription_service("PullPointSubscription"))
            puller = await device.call(device.camera.create_pullpoint_service)
            self._schedule_renewal(created.CurrentTime, created.TerminationTime)
            self._backoff.reset()
            self._set(
                state=EventsState.SUBSCRIBED, subscriptions_created=self.health.subscriptions_created + 1,
                last_error=None,
            )  # fmt: skip
            try:
                await self._pull_loop(device, manager, puller)
            finally:
                await self._unsubscribe(device, manager)
        finally:
            await device.close()

    async def _pull_loop(self, device: OnvifDevice, manager: Any, puller: Any) -> None:
        wait = self._settings.pull_timeout_s
        request = {"MessageLimit": MESSAGE_LIMIT, "Timeout": timedelta(seconds=wait)}
        while True:
            if self._clock.monotonic() >= self._renew_at:
                answer = await device.call(
                    lambda: manager.Renew({"TerminationTime": format_duration(self._settings.subscription_s)})
                )
                self._schedule_renewal(answer.CurrentTime, answer.TerminationTime)
                self._set(renewals=self.health.renewals + 1)
            pulled = await device.call(lambda: puller.PullMessages(request), timeout_s=wait + device.timeout_s)
            for message in pulled.NotificationMessage or []:
                self._deliver(device, message)

    def _deliver(self, device: OnvifDevice, message: Any) -> None:
        topic = getattr(getattr(message, "Topic", None), "_value_1", None)
        body = getattr(getattr(message, "Message", None), "_value_1", None)
        if not isinstance(topic, str) or body is None:
            return
        if not hasattr(body, "tag"):  # a zeep object (the tt:Message schema is known): as plain data
            body = device.camera.to_dict(body)
        event = parse_notification(topic, body)
        if event is None:
            return
        if event.kind is EventKind.MOTION:
            self._set(motion_events=self.health.motion_events + 1, last_event_at=self._clock.wall())
        else:
            self._set(
                tamper_events=self.health.tamper_events + 1, tampered=event.active, last_event_at=self._clock.wall()
            )
        self._on_event(self.camera_id, event)

    def _schedule_renewal(self, current: Any, termination: Any) -> None:
        granted = self._settings.subscription_s
        if current is not None and termination is not None and hasattr(termination, "__sub__"):
            reported = (termination - current).total_seconds()
            # Some firmwares answer a relative request with TerminationTime == CurrentTime; trust our own ask then.
            if reported > self._settings.pull_timeout_s:
                granted = reported
        self._renew_at = self._clock.monotonic() + granted * self._settings.renew_fraction

    async def _unsubscribe(self, device: OnvifDevice, manager: Any) -> None:
        """Best effort: a device that is gone, or that already dropped the subscription, lets it expire."""
        try:
            await device.call(manager.Unsubscribe)
        except ShopwatchError as exc:
            log.debug("%s: unsubscribe failed: %s", self.camera_id, exc)
