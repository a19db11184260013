"""What ``GET /api/search`` answers: the place's cameras (with their distance) and its events and tips in time
order, each with its camera and distance; an event as ``/api/events`` shows it (its picture and clip links), a
tip as ``/api/tips`` shows it to this caller."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from shopwatch.api.incident_schemas import EventPublic
from shopwatch.api.tip_schemas import TipPublic
from shopwatch.core.config import CameraConfig


class SearchCamera(BaseModel):
    id: str
    name: str
    shop: str = Field(description="The merchant's name.")
    address: str
    grid: str
    distance_m: float | None = Field(description="From the centre, or from the street's line; null: named outright.")

    @classmethod
    def of(cls, camera: CameraConfig, distance: float | None) -> SearchCamera:
        return cls(
            id=camera.id, name=camera.name, shop=camera.merchant.name, address=camera.address, grid=camera.grid,
            distance_m=None if distance is None else round(distance, 1),
        )  # fmt: skip


class SearchHit(BaseModel):
    kind: Literal["event", "tip"]
    time: datetime = Field(description="An event's start; the time a tip's sighting was seen.")
    camera: SearchCamera | None = Field(description="The event's camera; a tip's camera if it named or matched one.")
    distance_m: float | None = Field(description="The event's camera's or the tip's position's distance.")
    event: EventPublic | None = None
    tip: TipPublic | None = None


class SearchPage(BaseModel):
    since: datetime | None = Field(alias="from", description="The window's start (included), as asked; null: open.")
    until: datetime | None = Field(alias="to", description="The window's end (excluded); null: open.")
    timezone: str = Field(description="The station's zone, in which local times were read.")
    cameras: list[SearchCamera] = Field(description="The place's cameras the caller sees, nearest first.")
    results: list[SearchHit] = Field(description="Events and tips, oldest first.")
    next_cursor: str | None = Field(description="Pass as ?cursor= (with the same query) for the next page.")
