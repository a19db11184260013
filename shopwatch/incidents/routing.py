"""Which patrol teams an event goes to (by its camera's grid), when it escalates, and the outbox deliveries
for either. Pure: the service supplies the clock's time and writes what comes out in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shopwatch.core.incident_records import NewDelivery, StoredEvent
from shopwatch.core.incidents_config import IncidentsSettings, PatrolTeam, Webhook
from shopwatch.incidents.alerts import topic_for
from shopwatch.incidents.matrix import GroupMatrix

SUPERVISOR = "supervisor"
MQTT = "mqtt"
WEBHOOK = "webhook"

# (delivery id, reason) -> the payload for that delivery
PayloadFn = Callable[[str, str], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Channel:
    team: str
    mqtt_topic: str | None
    webhooks: Sequence[Webhook]


class Router:
    def __init__(self, settings: IncidentsSettings) -> None:
        self._settings = settings
        self.matrix = GroupMatrix(settings.community)
        self._by_grid: dict[str, list[PatrolTeam]] = {}
        for team in settings.teams:
            for grid in team.grids:
                self._by_grid.setdefault(grid, []).append(team)

    def teams_for(self, grid: str) -> list[PatrolTeam]:
        return list(self._by_grid.get(grid, ()))

    def escalate_at(self, grid: str, detected_at: datetime) -> datetime:
        """The earliest of the grid's teams' escalation times; a grid no team covers goes to the supervisor
        at once (nobody else would see it)."""
        teams = self.teams_for(grid)
        if not teams:
            return detected_at
        return detected_at + timedelta(seconds=min(t.escalation_s for t in teams))

    def webhook_secret(self, team: str, url: str) -> bytes | None:
        """The signing key of a team's webhook, looked up when sending (keys never go into the database)."""
        for channel in self._channels(team):
            for hook in channel.webhooks:
                if hook.url == url:
                    return hook.secret.get_secret_value().encode()
        return None

    def _channels(self, team: str) -> list[Channel]:
        if team == SUPERVISOR:
            sup = self._settings.supervisor
            return [Channel(SUPERVISOR, sup.mqtt_topic, sup.webhooks)]
        return [
            Channel(t.name, t.channels.mqtt_topic, t.channels.webhooks) for t in self._settings.teams if t.name == team
        ]

    def alert_deliveries(
        self, event: StoredEvent, payload: PayloadFn, now: datetime, merchant_kind: str = ""
    ) -> list[NewDelivery]:
        """The grid's teams' channels, and the group-chat robots the matrix names for the event."""
        channels = [c for t in self.teams_for(event.grid) for c in self._channels(t.name)]
        out = self._deliveries(event, channels, "alert", payload, now)
        for robot in self.matrix.robots_for(event.type, event.grid, merchant_kind):
            delivery_id = uuid.uuid4().hex
            out.append(
                NewDelivery(
                    delivery_id, event.id, "alert", robot.group, robot.robot.kind.value, robot.target,
                    payload(delivery_id, "alert"), now,
                )
            )  # fmt: skip
        return out

    def escalation_deliveries(self, event: StoredEvent, payload: PayloadFn, now: datetime) -> list[NewDelivery]:
        return self._deliveries(event, self._channels(SUPERVISOR), "escalation", payload, now)

    def contacts(self, grid: str) -> list[str]:
        return [c for t in self.teams_for(grid) for c in t.escalation_contacts]

    def _deliveries(
        self, event: StoredEvent, channels: list[Channel], reason: str, payload: PayloadFn, now: datetime
    ) -> list[NewDelivery]:
        out: list[NewDelivery] = []
        mqtt_on = self._settings.mqtt.enabled
        for channel in channels:
            targets: list[tuple[str, str]] = [(WEBHOOK, hook.url) for hook in channel.webhooks]
            if channel.mqtt_topic and mqtt_on:
                targets.insert(0, (MQTT, topic_for(channel.mqtt_topic, event.grid, event.type, event.camera_id)))
            for kind, target in targets:
                delivery_id = uuid.uuid4().hex
                out.append(
                    NewDelivery(
                        delivery_id, event.id, reason, channel.team, kind, target, payload(delivery_id, reason), now
                    )
                )
        return out
