"""A tip from a person, as stored and as every layer speaks of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


class TipType(StrEnum):
    CARD_POSTING = "card_posting"
    SUSPICIOUS_PERSON = "suspicious_person"
    HAZARD = "hazard"
    OTHER = "other"


class TipStatus(StrEnum):
    CANDIDATE = "candidate"  # filed, waiting for an operator
    CONFIRMED = "confirmed"  # became an incident of its own
    MERGED = "merged"  # joined an existing incident
    CLOSED = "closed"  # nothing to act on


class PlaceFrom(StrEnum):
    LOCATION = "location"  # lat/lon given
    PHOTO = "photo"  # the first photo's EXIF GPS
    CAMERA = "camera"  # a camera id given
    ADDRESS = "address"  # an address matched a camera's address or shop name
    UNRESOLVED = "unresolved"  # kept, flagged "place unresolved"


@dataclass(frozen=True, slots=True)
class Tip:
    id: str
    type: str
    text: str
    status: str
    filed_at: datetime  # when it reached us
    seen_at: datetime  # when the tipster says it happened
    filed_by: str  # the principal's name (a user, or key:<name> for a chat bridge)
    tipster: str  # who saw it: the user, or the volunteer a chat bridge names
    lat: float | None
    lon: float | None
    camera_id: str | None
    address: str
    place_from: str
    grid: str | None
    photos: list[str]  # file names under the data dir (EXIF stripped)
    nearby: dict[str, Any]  # {"cameras": [{"id", "distance_m"}], "events": [{"id", "camera_id", "time", "clip"}]}
    incident_id: str | None
    decided_by: str | None
    decided_at: datetime | None
    note: str
    led_to_case: bool
