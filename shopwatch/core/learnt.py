"""What a camera's detection learnt beyond its configuration: per-zone noise calibrations (``shopwatch cameras
calibrate``) and the spots operators told it to ignore (a false positive marked with "ignore this spot").

Both are kept in the database (``store.learnt``), not in the YAML file or the registry row: the service attaches
them to each camera's ``detection.learnt`` when it loads its cameras (``camera_source``), so they reach the
workers through the same path as any camera edit. The field is left out of every dump of a camera (registry row,
API, config files)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

NIGHT_LUMA = 60.0  # mean luma (0-255) of a zone below which a calibration is a night one
NOISE_STEP = 8.0  # a calibration's noise grid stores grey levels in steps of 1/8 (uint8: up to ~32 levels)
CELL_PX = 4  # side of a calibration grid cell, in pixels of the frame it was measured on
SPOT_GROW = 0.5  # an ignored spot is the false positive's patch grown by this much of its size on each side
SPOT_MIN_GROW = 0.004  # of the frame, on each side at least (about 2-3 pixels): the same card found 2 px off
SPOT_INSIDE = 0.5  # a new patch with at least this much of its area inside an ignored spot is suppressed

Band = Literal["day", "night"]
NormBox = tuple[float, float, float, float]


def spot_box(patch: NormBox) -> NormBox:
    """The ignored spot taught by a false positive's patch: the patch grown, so the same flicker found a few
    pixels off (compression, a slightly different "before") still falls mostly inside it."""
    gx = max(SPOT_GROW * (patch[2] - patch[0]), SPOT_MIN_GROW)
    gy = max(SPOT_GROW * (patch[3] - patch[1]), SPOT_MIN_GROW)
    return (max(0.0, patch[0] - gx), max(0.0, patch[1] - gy), min(1.0, patch[2] + gx), min(1.0, patch[3] + gy))


def inside_fraction(patch: NormBox, spot: NormBox) -> float:
    """How much of ``patch``'s area lies inside ``spot`` (0-1)."""
    w = min(patch[2], spot[2]) - max(patch[0], spot[0])
    h = min(patch[3], spot[3]) - max(patch[1], spot[1])
    area = (patch[2] - patch[0]) * (patch[3] - patch[1])
    return 0.0 if w <= 0 or h <= 0 or area <= 0 else w * h / area


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def band_of(luma: float) -> Band:
    return "night" if luma < NIGHT_LUMA else "day"


class ZoneCalibration(_Frozen):
    """One surface zone's temporal noise, measured while nobody was there."""

    zone: str
    band: Band = Field(description="day or night, from the luma it was measured at.")
    measured_at: datetime
    luma: float = Field(description="Mean luma (0-255) of the zone while it was measured.")
    frame_width: int
    frame_height: int
    rows: int = Field(description="Rows of the noise grid (cells of CELL_PX pixels over the zone's box).")
    cols: int
    noise: str = Field(description="base64 of zlib of uint8 rows x cols: the largest noise in each cell x 8.")
    noise_median: float = Field(description="Grey levels: median per-pixel noise over the zone.")
    noise_p90: float = Field(description="Grey levels: 90th percentile (text, edges).")
    suggested_diff_threshold: int = Field(description="The diff_threshold this camera's noise needs at least.")
    frames: int = Field(description="Frames measured.")
    skipped: int = Field(description="Frames left out because someone or something moved over the zone.")


class IgnoredSpot(_Frozen):
    """A part of a surface where an operator said a patch was no card: patches mostly inside it raise nothing."""

    id: str
    zone: str
    box: NormBox = Field(description="Normalized (x1, y1, x2, y2) of the frame.")
    event_id: str | None = Field(None, description="The false positive it was taught from.")
    created_by: str
    created_at: datetime


class Learnt(_Frozen):
    calibrations: tuple[ZoneCalibration, ...] = ()
    spots: tuple[IgnoredSpot, ...] = ()

    def calibration_label(self) -> str:
        """``default`` (never calibrated: the detector starts from its built-in noise prior), else when the
        newest calibration was measured (ISO 8601 UTC)."""
        if not self.calibrations:
            return "default"
        newest = max(c.measured_at for c in self.calibrations)
        return newest.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")

    def for_zone(self, zone: str) -> tuple[tuple[ZoneCalibration, ...], tuple[IgnoredSpot, ...]]:
        return (
            tuple(c for c in self.calibrations if c.zone == zone),
            tuple(s for s in self.spots if s.zone == zone),
        )
