"""Incident tables: stored events, their workflow transitions, linked incidents, the live feed, the outbox.

- ``events``: one row per detection event, once: ``event_key`` (unique) is the same for every report of one
  visit (``store.event_once``). Pictures and clips are files under the data dir; the row holds
  their paths relative to it and their total size (``media_bytes``) so retention by disk budget is one query.
  ``escalate_at`` is when an unacknowledged event goes to the supervisor (null: nobody to wait for).
- ``event_transitions``: who moved an event from which status to which, when, with a note.
- ``incidents``: events of one type on nearby cameras in a short time, linked (``events.incident_id``).
- ``event_inbox``: events Ray shards stored, until the head linked them (``store/inbox.py``).
- ``event_feed``: a monotonically numbered change log (created, transition, linked, deterrence). Its ``seq``
  is the SSE event id, so a console that reconnects with ``Last-Event-ID`` gets exactly what it missed.
- ``deliveries``: the transactional outbox. A delivery row is written in the same transaction as its event,
  so an alert exists iff the event does; the dispatcher sends it and records every attempt's outcome. Its id
  is the idempotency key receivers see. ``leased_by``/``lease_until``: the dispatcher (one per process)
  sending it now, and until when no other may take it (a crashed one's lease runs out).

Camera ids are not foreign keys: cameras from the YAML file are not in the registry table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from shopwatch.store.base import Base, UtcDateTime

LINKED = text("incident_id IS NOT NULL")
JsonDoc = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_time_id", "start", "id"),
        Index("ix_events_status_escalate", "status", "escalate_at"),
        Index("ix_events_camera_start", "camera_id", "start", "id"),  # search: these cameras in a window
        # Every column the case-analysis numbers read (store/event_stats.py), led by the time: they are counted
        # from the index alone (PostgreSQL: an index-only scan, kept cheap by the table's autovacuum settings in
        # migration 0013; SQLite: a covering index), never from the wide rows with their JSON documents.
        Index("ix_events_stats", "start", "grid", "type", "camera_id", "zone", "status", "incident_id"),
        # The events in an incident, for the distinct incidents of the case-analysis numbers (store/stats_incidents.py)
        Index("ix_events_linked", "start", "grid", "type", "incident_id", postgresql_where=LINKED, sqlite_where=LINKED),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    # camera, type, zone and start bucket hashed: one report of a visit per key (store.event_once)
    event_key: Mapped[str] = mapped_column(String(32), index=True, unique=True)
    camera_id: Mapped[str] = mapped_column(String(63), index=True)
    grid: Mapped[str] = mapped_column(String(64), index=True)
    type: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime())
    end: Mapped[datetime] = mapped_column(UtcDateTime())
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime())
    stored_at: Mapped[datetime] = mapped_column(UtcDateTime())
    confidence: Mapped[float] = mapped_column(Float)
    zone: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # track id, boxes, card patches
    snapshots: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # name -> path relative to the data dir
    clip: Mapped[str | None] = mapped_column(Text)  # path relative to the data dir
    media_bytes: Mapped[int] = mapped_column(Integer)
    teams: Mapped[list[Any]] = mapped_column(JsonDoc)  # names of the teams it was routed to
    escalate_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    escalated_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    incident_id: Mapped[str | None] = mapped_column(String(32), ForeignKey("incidents.id"), index=True)
    deterrence: Mapped[dict[str, Any] | None] = mapped_column(JsonDoc)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())


class TransitionRow(Base):
    __tablename__ = "event_transitions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), ForeignKey("events.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    user: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    note: Mapped[str] = mapped_column(Text)


class IncidentRow(Base):
    __tablename__ = "incidents"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))
    first_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime())
    summary: Mapped[dict[str, Any]] = mapped_column(JsonDoc)  # path, direction, speed, next cameras


class FeedRow(Base):
    __tablename__ = "event_feed"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(32), ForeignKey("events.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class InboxRow(Base):
    """An event a Ray shard stored that the head has not linked yet (``store/inbox.py``)."""

    __tablename__ = "event_inbox"

    event_id: Mapped[str] = mapped_column(String(32), ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    start: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)  # the head takes them in this order


class DeliveryRow(Base):
    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_state_due", "state", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), ForeignKey("events.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))  # alert | escalation
    team: Mapped[str] = mapped_column(String(64))  # team name, or "supervisor"
    channel: Mapped[str] = mapped_column(String(8))  # mqtt | webhook
    target: Mapped[str] = mapped_column(Text)  # topic or URL
    payload: Mapped[dict[str, Any]] = mapped_column(JsonDoc)
    state: Mapped[str] = mapped_column(String(12))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    leased_by: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
