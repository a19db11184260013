"""The records of the incidents domain: a stored event, its transitions and incident, the live feed's entries,
and the outbox's deliveries with their attempts' outcomes.

The single definition of each: frozen values the incident service builds and reads, the store maps its rows to
(``store.events``, ``store.outbox``) and the API builds its schemas from. They live in ``core`` because both the
store (below incidents) and incidents use them. Times are timezone-aware UTC."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any


@dataclass(frozen=True, slots=True)
class StoredEvent:
    id: str
    camera_id: str
    grid: str
    type: str
    status: str
    start: datetime
    end: datetime
    detected_at: datetime
    stored_at: datetime
    confidence: float
    zone: str
    detail: dict[str, Any]
    snapshots: dict[str, str]  # name -> path relative to the data dir
    clip: str | None
    media_bytes: int
    teams: list[str]
    escalate_at: datetime | None
    escalated_at: datetime | None
    incident_id: str | None
    deterrence: dict[str, Any] | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Transition:
    event_id: str
    from_status: str
    to_status: str
    user: str
    at: datetime
    note: str


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    type: str
    first_at: datetime
    last_at: datetime
    summary: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to store with its outbox deliveries and its incident (created or updated), all or nothing."""

    event: StoredEvent
    deliveries: Sequence[NewDelivery]
    incident: Incident | None = None


@dataclass(frozen=True, slots=True)
class Sighted:
    """What cross-camera linking remembers of a stored event."""

    event_id: str
    camera_id: str
    type: str
    start: datetime
    incident_id: str | None


@dataclass(frozen=True, slots=True)
class StoredEventPage:
    events: list[StoredEvent]
    next_cursor: str | None  # None: this was the last page


@dataclass(frozen=True, slots=True)
class FeedEntry:
    seq: int
    kind: str  # created | transition | linked | deterrence
    event: StoredEvent


class DeliveryState(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class NewDelivery:
    id: str  # also the idempotency key receivers see
    event_id: str
    reason: str  # alert | escalation
    team: str
    channel: str  # mqtt | webhook
    target: str  # topic or URL
    payload: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event_id: str
    reason: str
    team: str
    channel: str
    target: str
    payload: dict[str, Any]
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    leased_by: str | None = None
    lease_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Lease:
    owner: str  # the dispatcher's name
    until: datetime


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """One attempt's result: ``DELIVERED``, ``FAILED`` for good, or ``PENDING`` again from ``retry_at``."""

    delivery_id: str
    state: DeliveryState
    at: datetime
    error: str | None = None
    retry_at: datetime | None = None
