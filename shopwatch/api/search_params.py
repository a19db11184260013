"""What ``GET /api/search`` is asked, turned into a place and a window of time; each problem answers 422 naming the
parameter, what was expected and what was found.

Times are local-time friendly: ``from``/``to`` are ISO 8601 with a zone, or without one (then in the station's
zone, ``api.timezone``), or a time of day (``22:00``) on ``date`` (``2026-12-07``, the station's day); ``date``
alone is that whole day."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from shopwatch.core.config import CameraConfig
from shopwatch.core.errors import Invalid
from shopwatch.incidents.linking import Place
from shopwatch.incidents.search import EVENT_STATUSES, EVENT_TYPES, TIP_STATUSES, TIP_TYPES
from shopwatch.incidents.search_place import Circle, Corridor, SearchPlace, cameras_along, path_length_m
from shopwatch.incidents.tips import match_address
from shopwatch.store.search import Kind

MAX_RADIUS_M = 50_000.0
DEFAULT_RADIUS_M = 200.0
MAX_WIDTH_M = 2_000.0
DEFAULT_WIDTH_M = 60.0
MAX_PATH_POINTS = 100
MAX_SPAN = timedelta(days=366)
_TIME_OF_DAY = re.compile(r"^\d{1,2}:\d{2}(:\d{2})?$")
KINDS = {"events": Kind.EVENT, "tips": Kind.TIP}


@dataclass(frozen=True, slots=True)
class PlaceAsked:
    lat: float | None = None
    lon: float | None = None
    radius_m: float | None = None
    camera_ids: tuple[str, ...] = ()
    address: str | None = None
    along: str | None = None
    path: str | None = None
    width_m: float | None = None


def words(values: Sequence[str] | None) -> list[str]:
    """Repeated or comma-separated values (``types=a,b`` or ``types=a&types=b``), blanks dropped."""
    return [w.strip() for v in values or () for w in v.split(",") if w.strip()]


def checked(name: str, values: Sequence[str] | None, known: frozenset[str]) -> frozenset[str]:
    asked = words(values)
    unknown = [v for v in asked if v not in known]
    if unknown:
        raise Invalid(f"'{name}': expected some of {', '.join(sorted(known))}, found {unknown[0]!r}")
    return frozenset(asked)


def types_of(values: Sequence[str] | None) -> frozenset[str]:
    return checked("types", values, EVENT_TYPES | TIP_TYPES)


def statuses_of(values: Sequence[str] | None) -> frozenset[str]:
    return checked("status", values, EVENT_STATUSES | TIP_STATUSES)


def kinds_of(values: Sequence[str] | None) -> frozenset[Kind]:
    asked = checked("kinds", values, frozenset(KINDS))
    return frozenset(KINDS[k] for k in asked) if asked else frozenset(Kind)


def _bounded(name: str, value: float, most: float) -> float:
    if not (math.isfinite(value) and 0 < value <= most):
        raise Invalid(f"'{name}': expected more than 0 and at most {most:g} metres, found {value:g}")
    return value


def _point(text: str, n: int) -> Place:
    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise Invalid(f"'path': point {n}: expected 'lat,lon', found {text[:40]!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Invalid(f"'path': point {n}: expected lat in [-90, 90] and lon in [-180, 180], found {text[:40]!r}")
    return Place(lat, lon)


def parse_path(text: str, width_m: float | None) -> Corridor:
    points = [p.strip() for p in text.split(";") if p.strip()]
    if not 2 <= len(points) <= MAX_PATH_POINTS:
        raise Invalid(f"'path': expected 2 to {MAX_PATH_POINTS} points 'lat,lon;lat,lon', found {len(points)}")
    path = tuple(_point(p, n + 1) for n, p in enumerate(points))
    if path_length_m(path) > MAX_RADIUS_M:
        raise Invalid(f"'path': expected at most {MAX_RADIUS_M:g} metres long, found {path_length_m(path):.0f}")
    width = _bounded("width_m", width_m if width_m is not None else DEFAULT_WIDTH_M, MAX_WIDTH_M)
    return Corridor(path, width)


def resolve_place(asked: PlaceAsked, cameras: Sequence[CameraConfig]) -> SearchPlace:
    """Exactly one of: lat+lon (with radius_m), camera_id, address (its camera, with radius_m), along, path."""
    given = [name for name, present in (
        ("lat/lon", asked.lat is not None or asked.lon is not None), ("camera_id", bool(asked.camera_ids)),
        ("address", asked.address is not None), ("along", asked.along is not None), ("path", asked.path is not None),
    ) if present]  # fmt: skip
    if len(given) != 1:
        found = " and ".join(given) if given else "none"
        raise Invalid(f"expected one place: lat+lon, camera_id, address, along or path; found {found}")
    radius = _bounded("radius_m", asked.radius_m if asked.radius_m is not None else DEFAULT_RADIUS_M, MAX_RADIUS_M)
    if given[0] == "lat/lon":
        if asked.lat is None or asked.lon is None:
            raise Invalid("'lat', 'lon': expected both")
        return SearchPlace(shape=Circle(Place(asked.lat, asked.lon), radius))
    if given[0] == "camera_id":
        return SearchPlace(camera_ids=frozenset(asked.camera_ids))
    if given[0] == "address":
        camera = match_address(asked.address or "", cameras)
        if camera is None:
            return SearchPlace()  # matches nothing: an empty answer, as an address a tip names may
        loc = camera.location
        shape = Circle(Place(loc.lat, loc.lon), radius) if loc is not None else None
        return SearchPlace(shape=shape, camera_ids=frozenset({camera.id}))
    if given[0] == "along":
        street = (asked.along or "").strip()
        if len(street) < 2:
            raise Invalid(f"'along': expected a street's name (2 characters or more), found {asked.along!r}")
        return SearchPlace(camera_ids=frozenset(c.id for c in cameras_along(street, cameras)), street=street)
    return SearchPlace(shape=parse_path(asked.path or "", asked.width_m))


def _moment(name: str, text: str, day: date | None, zone: ZoneInfo) -> datetime:
    if _TIME_OF_DAY.match(text):
        if day is None:
            raise Invalid(f"'{name}': a time of day ({text}) needs 'date' (YYYY-MM-DD)")
        try:
            return datetime.combine(day, time.fromisoformat(text.zfill(5) if len(text) == 4 else text), zone)
        except ValueError:
            raise Invalid(f"'{name}': expected a time of day HH:MM, found {text!r}") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(
            f"'{name}': expected ISO 8601 (2026-12-07T22:00+08:00) or HH:MM with date, found {text[:40]!r}"
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def parse_window(
    since: str | None, until: str | None, day: str | None, zone_name: str
) -> tuple[datetime | None, datetime | None]:
    """The window [since, until) in absolute time; either end may be open (None)."""
    zone = ZoneInfo(zone_name)
    local_day = None
    if day is not None:
        try:
            local_day = date.fromisoformat(day)
        except ValueError:
            raise Invalid(f"'date': expected YYYY-MM-DD, found {day[:40]!r}") from None
    start = _moment("from", since, local_day, zone) if since else None
    end = _moment("to", until, local_day, zone) if until else None
    if local_day is not None and start is None and end is None:
        start = datetime.combine(local_day, time(), zone)
        end = datetime.combine(local_day + timedelta(days=1), time(), zone)
    if start is not None and end is not None:
        if start >= end:
            raise Invalid(f"'from' ({start.isoformat()}) must be before 'to' ({end.isoformat()})")
        if end - start > MAX_SPAN:
            raise Invalid(f"'from' to 'to' may span at most {MAX_SPAN.days} days")
    return start, end
