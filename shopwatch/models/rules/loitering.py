"""``loitering``: a person inside an area zone for at least ``dwell_s`` (short detection gaps tolerated).

Fires once per person, the moment the dwell is reached (an operator can still act), then not again in that
zone for ``cooldown_s``."""

from __future__ import annotations

from types import MappingProxyType

from shopwatch.core.detect_config import LoiteringRule as LoiteringConfig
from shopwatch.core.events import Event, EventType
from shopwatch.models.rules.base import Observation, actor_snapshot
from shopwatch.models.rules.presence import Presence, Stay
from shopwatch.models.zones import ZoneShape


class Loitering:
    def __init__(self, camera_id: str, config: LoiteringConfig, zones: list[ZoneShape]) -> None:
        self._camera_id = camera_id
        self._config = config
        self._presences = [Presence(zone, config.min_confidence, config.max_gap_s) for zone in zones]
        self._quiet_until: dict[str, float] = {}

    def update(self, obs: Observation) -> list[Event]:
        events = []
        for presence in self._presences:
            zone = presence.zone.name
            for stay in presence.update(obs):
                if stay.fired or stay.duration < self._config.dwell_s:
                    continue
                stay.fired = True  # once per person, even when the cooldown swallows it
                if obs.t < self._quiet_until.get(zone, float("-inf")):
                    continue
                self._quiet_until[zone] = obs.t + self._config.cooldown_s
                events.append(stay_event(self._camera_id, EventType.LOITERING, zone, stay, obs))
        return events


def stay_event(camera_id: str, kind: EventType, zone: str, stay: Stay, obs: Observation) -> Event:
    return Event(
        camera_id=camera_id,
        type=kind,
        start=stay.first_t,
        end=obs.t,
        confidence=stay.mean_score,
        track_id=stay.track_id,
        box=stay.best_box,
        zone=zone,
        detected_at=obs.now,
        track_boxes=tuple(stay.path),
        snapshots=MappingProxyType({"actor": actor_snapshot(stay.best_frame, stay.best_box)}),
    )
