"""The camera registry tables.

One row per camera. The top-level scalar fields of ``CameraConfig`` are columns (``grid``, ``vendor``, ``host``
and ``enabled`` are indexed for the operator's filters); the nested parts (merchant, location, streams,
talkback) are JSON documents shaped exactly like their pydantic models, so a field added inside them needs no
migration. The password column holds ``fernet:<token>``: the password as it was given (inline or a
``${SHOPWATCH_...}`` reference), encrypted by ``store.cameras`` (``store.secret_box``).

``registry_state`` holds one row whose ``revision`` grows with every committed change to ``cameras``: the
running service polls it (one primary-key read) to notice edits made by imports or the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, CheckConstraint, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shopwatch.store.base import Base, UtcDateTime

JsonDoc = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
SOURCES = ("yaml", "csv", "onvif", "api")


class CameraRow(Base):
    __tablename__ = "cameras"
    __table_args__ = (CheckConstraint(f"source IN {SOURCES!r}", name="source"),)

    id: Mapped[str] = mapped_column(String(63), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    grid: Mapped[str] = mapped_column(String(64), index=True)
    vendor: Mapped[str] = mapped_column(String(16), index=True)
    host: Mapped[str] = mapped_column(String(253), index=True)
    port: Mapped[int] = mapped_column(Integer)
    onvif_port: Mapped[int] = mapped_column(Integer)
    transport: Mapped[str | None] = mapped_column(String(8))
    enabled: Mapped[bool] = mapped_column(Boolean, index=True)
    username: Mapped[str] = mapped_column(String(128), default="")
    password: Mapped[str] = mapped_column(Text, default="")  # "fernet:<token>" (store.secret_box), "" for none
    merchant: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    location: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    streams: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    talkback: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    onvif: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)  # null: never onboarded over ONVIF
    detection: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # zones and rules
    source: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class RegistryState(Base):
    __tablename__ = "registry_state"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)
