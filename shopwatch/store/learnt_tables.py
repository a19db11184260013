"""Tables of what detection learnt per camera (``core.learnt``): noise calibrations and ignored spots.

Camera ids are not foreign keys: cameras from the YAML file are not in the registry table. Every write bumps
``registry_state.revision``, so the running service reloads its cameras and the workers get the change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shopwatch.store.base import Base, UtcDateTime

JsonDoc = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class CalibrationRow(Base):
    """One zone's calibration per band (day, night): a new one replaces the old one of its band."""

    __tablename__ = "camera_calibrations"

    camera_id: Mapped[str] = mapped_column(String(63), primary_key=True)
    zone: Mapped[str] = mapped_column(String(63), primary_key=True)
    band: Mapped[str] = mapped_column(String(8), primary_key=True)
    measured_at: Mapped[datetime] = mapped_column(UtcDateTime())
    doc: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # ZoneCalibration as JSON


class IgnoredSpotRow(Base):
    __tablename__ = "ignored_spots"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(63), index=True)
    zone: Mapped[str] = mapped_column(String(63))
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    event_id: Mapped[str | None] = mapped_column(String(32))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
