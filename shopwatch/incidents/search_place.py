"""Where a search looks: a circle (a centre and a radius), a corridor along a street drawn as a polyline, or
cameras named outright (by id, by an address matched to the registry, or by the text of a street in their
addresses). Pure: values in, values out.

A circle's or corridor's cameras are found with a bounding-box prefilter on their latitude and longitude, then
the exact distance (haversine for a circle; for a corridor, the distance to the nearest leg on a local flat
projection, whose error is centimetres over the few kilometres of a street)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from shopwatch.core.config import CameraConfig
from shopwatch.incidents.linking import EARTH_RADIUS_M, Place, distance_m

M_PER_DEG_LAT = math.pi * EARTH_RADIUS_M / 180  # ~111.2 km


@dataclass(frozen=True, slots=True)
class Circle:
    centre: Place
    radius_m: float


@dataclass(frozen=True, slots=True)
class Corridor:
    path: tuple[Place, ...]  # two points at least
    width_m: float  # the whole width: a place counts within width_m / 2 of the line

    @property
    def reach_m(self) -> float:
        return self.width_m / 2


Shape = Circle | Corridor


@dataclass(frozen=True, slots=True)
class Box:
    south: float
    north: float
    west: float
    east: float

    def holds(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east


@dataclass(frozen=True, slots=True)
class SearchPlace:
    """A shape, or cameras named outright (``camera_ids``), or both; ``street``: the text of an ``along=``
    search, which a tip's typed address may contain too."""

    shape: Shape | None = None
    camera_ids: frozenset[str] = frozenset()
    street: str | None = None


def around(points: Sequence[Place], margin_m: float) -> Box:
    """The box holding ``points`` and everything within ``margin_m`` of them (never past a pole)."""
    dlat = margin_m / M_PER_DEG_LAT
    south, north = min(p.lat for p in points) - dlat, max(p.lat for p in points) + dlat
    widest = max(abs(south), abs(north))
    dlon = 180.0 if widest >= 89.9 else margin_m / (M_PER_DEG_LAT * math.cos(math.radians(widest)))
    west, east = min(p.lon for p in points) - dlon, max(p.lon for p in points) + dlon
    return Box(max(-90.0, south), min(90.0, north), west, east)


def box_of(shape: Shape) -> Box:
    if isinstance(shape, Circle):
        return around([shape.centre], shape.radius_m)
    return around(shape.path, shape.reach_m)


def _to_segment_m(p: Place, a: Place, b: Place) -> float:
    """Metres from ``p`` to the segment a-b, on the flat projection around ``p``."""
    scale = math.cos(math.radians(p.lat)) * M_PER_DEG_LAT
    ax, ay = (a.lon - p.lon) * scale, (a.lat - p.lat) * M_PER_DEG_LAT
    bx, by = (b.lon - p.lon) * scale, (b.lat - p.lat) * M_PER_DEG_LAT
    dx, dy = bx - ax, by - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / length2))
    return math.hypot(ax + t * dx, ay + t * dy)


def to_path_m(p: Place, path: Sequence[Place]) -> float:
    return min(_to_segment_m(p, a, b) for a, b in zip(path, path[1:], strict=False))


def path_length_m(path: Sequence[Place]) -> float:
    return sum(distance_m(a, b) for a, b in zip(path, path[1:], strict=False))


def distance_from(shape: Shape, lat: float, lon: float) -> float:
    """From the circle's centre, or from the corridor's line."""
    here = Place(lat, lon)
    if isinstance(shape, Circle):
        return distance_m(shape.centre, here)
    return to_path_m(here, shape.path)


def inside(shape: Shape, lat: float, lon: float) -> tuple[bool, float]:
    """Whether the point is in the shape, and its distance (from the centre, or from the line)."""
    if not box_of(shape).holds(lat, lon):
        return False, math.inf
    distance = distance_from(shape, lat, lon)
    limit = shape.radius_m if isinstance(shape, Circle) else shape.reach_m
    return distance <= limit, distance


def normal(text: str) -> str:
    """Spaces and case ignored, as tips match addresses."""
    return "".join(text.split()).casefold()


def cameras_along(street: str, cameras: Sequence[CameraConfig]) -> list[CameraConfig]:
    """The cameras whose address contains the street's text (spaces and case ignored)."""
    wanted = normal(street)
    return [c for c in cameras if wanted and wanted in normal(c.address)]


def cameras_in(place: SearchPlace, cameras: Sequence[CameraConfig]) -> list[tuple[CameraConfig, float | None]]:
    """The cameras a search covers with their distance (None for a camera named outright in no shape), nearest
    first, then by id."""
    found: dict[str, tuple[CameraConfig, float | None]] = {}
    if place.shape is not None:
        box = box_of(place.shape)
        for camera in cameras:
            loc = camera.location
            if loc is None or not box.holds(loc.lat, loc.lon):
                continue
            within, distance = inside(place.shape, loc.lat, loc.lon)
            if within:
                found[camera.id] = (camera, distance)
    for camera in cameras:
        if camera.id in place.camera_ids and camera.id not in found:
            loc = camera.location
            away = None if place.shape is None or loc is None else distance_from(place.shape, loc.lat, loc.lon)
            found[camera.id] = (camera, away)
    return sorted(found.values(), key=lambda cd: (math.inf if cd[1] is None else cd[1], cd[0].id))
