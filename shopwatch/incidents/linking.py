"""Cross-camera linking: the same behaviour on nearby cameras within a short time is one incident (a card
poster working shop after shop along a street), with an ordered path, a direction of travel and speed, and
the cameras the person is likely to reach next. Pure: values in, values out; the service stores the result.

Distances and bearings on the WGS84 sphere (haversine; the error is far below a shop front's width at the
few hundred metres linked here). Only the last ``window_s`` of events is kept per type; after a restart the
service rebuilds it from the store (``restore``)."""

from __future__ import annotations

import math
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shopwatch.core.incidents_config import Linking

EARTH_RADIUS_M = 6_371_008.8
COMPASS = ("north", "north-east", "east", "south-east", "south", "south-west", "west", "north-west")
AHEAD_DEG = 60.0  # a camera within this angle of the direction of travel lies ahead
MIN_TRAVEL_M = 1.0  # less than this between first and last camera: no direction


@dataclass(frozen=True, slots=True)
class Place:
    lat: float
    lon: float


def distance_m(a: Place, b: Place) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def bearing_deg(a: Place, b: Place) -> float:
    """Initial bearing from a to b, degrees clockwise from north."""
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dl = math.radians(b.lon - a.lon)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360


def compass(bearing: float) -> str:
    return COMPASS[int((bearing + 22.5) // 45) % 8]


@dataclass(frozen=True, slots=True)
class Sighting:
    event_id: str
    camera_id: str
    type: str
    place: Place
    time: float  # wall time the behaviour began


@dataclass(slots=True)
class _Chain:
    id: str
    sightings: list[Sighting] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Link:
    """The incident an event joined: id, the other events it links, and what to show and send."""

    incident_id: str
    event_ids: list[str]  # every event of the incident, in path order
    first: float
    last: float
    summary: dict[str, Any]


def summary_text(visited: Sequence[str], direction: str | None, speed_mps: float | None, nexts: Sequence[str]) -> str:
    """The incident in one line: the cameras in order, the direction and speed, the likely next cameras."""
    text = f"linked: {len(visited)} cameras ({', '.join(visited)})"
    if direction is not None:
        text += f", moving {direction} along the street"
        if speed_mps is not None:
            text += f", ~{speed_mps:.1f} m/s"
    if nexts:
        text += f"; likely next: {', '.join(nexts)}"
    return text


class Linker:
    def __init__(self, settings: Linking) -> None:
        self._settings = settings
        self._recent: deque[tuple[Sighting, _Chain]] = deque()

    def add(self, sighting: Sighting, cameras: Mapping[str, Place]) -> Link | None:
        """Record a sighting; returns its incident when it links to an earlier one, else None."""
        if not self._settings.enabled:
            return None
        window = self._settings.window_s
        while self._recent and self._recent[0][0].time < sighting.time - 2 * window:
            self._recent.popleft()
        match: _Chain | None = None
        best = math.inf
        for earlier, chain in self._recent:
            gap = sighting.time - earlier.time
            if earlier.type != sighting.type or not 0 <= gap <= window:
                continue
            if distance_m(earlier.place, sighting.place) <= self._settings.distance_m and gap < best:
                match, best = chain, gap
        chain = match or _Chain(uuid.uuid4().hex)
        chain.sightings.append(sighting)
        self._recent.append((sighting, chain))
        if match is None:
            return None
        path = sorted(chain.sightings, key=lambda s: s.time)
        return Link(chain.id, [s.event_id for s in path], path[0].time, path[-1].time, self._summary(path, cameras))

    def _summary(self, path: list[Sighting], cameras: Mapping[str, Place]) -> dict[str, Any]:
        first, last = path[0], path[-1]
        travelled = sum(distance_m(a.place, b.place) for a, b in zip(path, path[1:], strict=False))
        elapsed = last.time - first.time
        speed = travelled / elapsed if elapsed > 0 else None
        straight = distance_m(first.place, last.place)
        heading = bearing_deg(first.place, last.place) if straight >= MIN_TRAVEL_M else None
        direction = compass(heading) if heading is not None else None
        nexts = self._next_cameras(last, heading, {s.camera_id for s in path}, cameras)
        visited = list(dict.fromkeys(s.camera_id for s in path))
        text = summary_text(visited, direction, speed, nexts)
        return {
            "events": [s.event_id for s in path],
            "path": [
                {
                    "camera_id": s.camera_id,
                    "event_id": s.event_id,
                    "time": datetime.fromtimestamp(s.time, UTC).isoformat().replace("+00:00", "Z"),
                    "lat": s.place.lat,
                    "lon": s.place.lon,
                }
                for s in path
            ],
            "direction": direction,
            "bearing_deg": None if heading is None else round(heading, 1),
            "speed_mps": None if speed is None else round(speed, 2),
            "distance_m": round(travelled, 1),
            "next_cameras": nexts,
            "text": text,
        }

    def _next_cameras(
        self, last: Sighting, heading: float | None, visited: set[str], cameras: Mapping[str, Place]
    ) -> list[str]:
        if heading is None or self._settings.next_cameras == 0:
            return []
        ahead: list[tuple[float, str]] = []
        for camera_id, place in cameras.items():
            if camera_id in visited:
                continue
            d = distance_m(last.place, place)
            if d < MIN_TRAVEL_M or d > self._settings.distance_m:
                continue
            off = abs((bearing_deg(last.place, place) - heading + 180) % 360 - 180)
            if off <= AHEAD_DEG:
                ahead.append((d, camera_id))
        return [camera_id for _, camera_id in sorted(ahead)[: self._settings.next_cameras]]

    def restore(self, history: Sequence[tuple[Sighting, str | None]], since: float) -> None:
        """Rebuild the window after a restart from stored events, oldest first, each with the incident it
        joined (None: none yet). Sightings before ``since`` only complete their incident's path."""
        chains: dict[str, _Chain] = {}
        recent: deque[tuple[Sighting, _Chain]] = deque()
        for sighting, incident_id in history:
            if incident_id is None:
                chain = _Chain(uuid.uuid4().hex)  # alone so far: the incident is made when another joins
            else:
                chain = chains.setdefault(incident_id, _Chain(incident_id))
            chain.sightings.append(sighting)
            if sighting.time >= since:
                recent.append((sighting, chain))
        self._recent = recent

    def forget(self, event_id: str) -> None:
        """Drop a sighting (its event was marked a false positive) so it links nothing more."""
        kept = deque((s, c) for s, c in self._recent if s.event_id != event_id)
        for _, chain in kept:
            chain.sightings = [s for s in chain.sightings if s.event_id != event_id]
        self._recent = kept
