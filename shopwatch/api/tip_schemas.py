"""What ``/api/tips`` takes and shows. A tip's photos come base64 in the JSON (``photos: [{"name", "data"}]``);
who filed it is shown to operators and admins only."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shopwatch.core.errors import Invalid
from shopwatch.core.tip_records import Tip, TipType

MAX_TEXT = 2000


class PhotoIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field("photo.jpg", max_length=100)
    data: str = Field(..., description="The picture's bytes, base64.")

    def raw(self) -> bytes:
        try:
            return base64.b64decode(self.data, validate=True)
        except (binascii.Error, ValueError):
            raise Invalid(f"photo {self.name!r}: expected base64 data") from None


class TipCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: TipType
    text: str = Field("", max_length=MAX_TEXT, description="What was seen.")
    seen_at: datetime | None = Field(None, description="When (ISO 8601 with zone); default: now.")
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    camera_id: str | None = Field(None, max_length=63, description="A camera it happened in front of.")
    address: str = Field("", max_length=300, description="An address or shop name, matched to the registry.")
    reporter: str | None = Field(
        None, min_length=1, max_length=64, description="Chat bridges (API keys) only: the volunteer who sent it."
    )
    photos: list[PhotoIn] = Field(default_factory=list, max_length=4)


class TipDecision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["confirm", "merge", "close"]
    incident_id: str | None = Field(None, max_length=32, description="merge: the incident it joins.")
    note: str = Field("", max_length=1000)


class TipCase(BaseModel):
    model_config = ConfigDict(extra="forbid")
    led_to_case: bool


class TipPublic(BaseModel):
    id: str
    type: str
    text: str
    status: str
    filed_at: datetime
    seen_at: datetime
    filed_by: str | None  # operators and admins only
    tipster: str | None  # operators and admins only
    lat: float | None
    lon: float | None
    camera_id: str | None
    address: str
    place_resolved: bool
    place_from: str
    grid: str | None
    photos: list[str]  # GET /api/tips/{id}/photos/{name}
    nearby: dict[str, Any]
    incident_id: str | None
    decided_at: datetime | None
    note: str
    led_to_case: bool

    @classmethod
    def of(cls, tip: Tip, *, identity: bool) -> TipPublic:
        return cls(
            id=tip.id, type=tip.type, text=tip.text, status=tip.status, filed_at=tip.filed_at, seen_at=tip.seen_at,
            filed_by=tip.filed_by if identity else None, tipster=tip.tipster if identity else None,
            lat=tip.lat, lon=tip.lon, camera_id=tip.camera_id, address=tip.address,
            place_resolved=tip.place_from != "unresolved", place_from=tip.place_from, grid=tip.grid,
            photos=[f"/api/tips/{tip.id}/photos/{name}" for name in tip.photos], nearby=tip.nearby,
            incident_id=tip.incident_id, decided_at=tip.decided_at, note=tip.note, led_to_case=tip.led_to_case,
        )  # fmt: skip


class TipLimits(BaseModel):
    max_photos: int = Field(description="Photos one tip may carry.")
    max_photo_bytes: int = Field(description="Largest photo, bytes (413 past it).")
    max_text: int = Field(description="Longest text, characters.")


class TipsterStats(BaseModel):
    tipster: str
    filed: int
    confirmed: int
    led_to_case: int
