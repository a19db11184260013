"""Settings of tips from people: photo limits and what counts as "near" a tip (cameras and their events)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class TipsSettings(BaseModel):
    # Same rules as ``config.Strict`` (not imported: ``config`` imports this module through incidents_config).
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    radius_m: float = Field(200.0, gt=0, le=5000, description="Cameras this close to a tip's place are attached.")
    window_s: float = Field(
        1800.0, gt=0, le=86400, description="Their events this long before or after the tip's time are attached."
    )
    max_photos: int = Field(4, ge=0, le=4, description="Photos one tip may carry.")
    max_photo_kib: int = Field(
        5120, ge=16, le=20480, description="Largest photo, KiB (413 past it; nothing of the tip is stored)."
    )
    max_events: int = Field(
        50, ge=1, le=500, description="Nearby events attached to one tip, at most (closest in time)."
    )
