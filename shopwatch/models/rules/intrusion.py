"""``intrusion``: a person inside an area zone during the configured closed hours (camera-local time).

Needs ``min_s`` of presence (a single false detection is not an intruder); fires once per person, then not
again in that zone for ``cooldown_s``. Hours may cross midnight ("22:00-06:00")."""

from __future__ import annotations

from shopwatch.core.detect_config import IntrusionRule as IntrusionConfig
from shopwatch.core.events import Event, EventType
from shopwatch.models.rules.base import Observation
from shopwatch.models.rules.loitering import stay_event
from shopwatch.models.rules.presence import Presence
from shopwatch.models.zones import ZoneShape

GAP_S = 2.0  # detection gaps tolerated while an intruder is inside


class Intrusion:
    def __init__(self, camera_id: str, config: IntrusionConfig, zones: list[ZoneShape]) -> None:
        self._camera_id = camera_id
        self._config = config
        self._presences = [Presence(zone, config.min_confidence, GAP_S) for zone in zones]
        self._quiet_until: dict[str, float] = {}

    def update(self, obs: Observation) -> list[Event]:
        events = []
        closed = self._config.contains(obs.local_time)
        for presence in self._presences:
            zone = presence.zone.name
            for stay in presence.update(obs):
                if stay.fired or not closed or stay.duration < self._config.min_s:
                    continue
                stay.fired = True
                if obs.t < self._quiet_until.get(zone, float("-inf")):
                    continue
                self._quiet_until[zone] = obs.t + self._config.cooldown_s
                events.append(stay_event(self._camera_id, EventType.INTRUSION, zone, stay, obs))
        return events
