"""What the incident routes answer and accept. Stored values become these ``*Public`` shapes here, so the
routes stay thin; nothing secret is in any of them (webhook keys are never shown, only their URLs)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from shopwatch.core.incident_records import Delivery, FeedEntry, Incident, StoredEvent, Transition
from shopwatch.core.incidents_config import IncidentsSettings
from shopwatch.core.redact import mask_query
from shopwatch.incidents.linking import summary_text
from shopwatch.incidents.workflow import Status


class EventPublic(BaseModel):
    id: str
    camera_id: str
    grid: str
    type: str
    status: Status
    start: datetime
    end: datetime
    detected_at: datetime
    stored_at: datetime
    confidence: float
    zone: str
    detail: dict[str, Any] = Field(description="Track id, actor box, card patches.")
    snapshots: dict[str, str] = Field(description="Picture name -> URL under /api.")
    clip: str | None = Field(description="Clip URL under /api, if a clip was cut.")
    teams: list[str] = Field(description="Patrol teams it was routed to.")
    escalate_at: datetime | None
    escalated_at: datetime | None
    incident_id: str | None
    deterrence: dict[str, Any] | None = Field(description="Auto-deterrence outcome, if a rule applied.")
    updated_at: datetime

    @classmethod
    def of(cls, event: StoredEvent) -> EventPublic:
        base = f"/api/events/{event.id}"
        return cls(
            **{name: getattr(event, name) for name in _EVENT_FIELDS},
            status=Status(event.status),
            snapshots={name: f"{base}/snapshots/{name}.jpg" for name in sorted(event.snapshots)},
            clip=f"{base}/clip.mp4" if event.clip else None,
        )


_EVENT_FIELDS = tuple(name for name in EventPublic.model_fields if name not in {"status", "snapshots", "clip"})


class EventPage(BaseModel):
    events: list[EventPublic]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null on the last page.")


class TransitionIn(BaseModel):
    status: Status = Field(description="The status to move to.")
    note: str = Field("", max_length=2000, description="Why; shown in the event's history.")
    ignore_spot: bool = Field(
        False, description="With false_positive on a card-posting event: later patches mostly inside its patches' "
        "areas on that camera's surface raise no event (an admin lists and clears them per camera).",
    )  # fmt: skip


class TransitionPublic(BaseModel):
    from_status: Status
    to_status: Status
    user: str
    at: datetime
    note: str

    @classmethod
    def of(cls, t: Transition) -> TransitionPublic:
        return cls(from_status=Status(t.from_status), to_status=Status(t.to_status), user=t.user, at=t.at, note=t.note)


class DeliveryPublic(BaseModel):
    id: str = Field(description="Also the idempotency key the receiver sees.")
    event_id: str
    reason: str = Field(description="alert or escalation.")
    team: str
    channel: str = Field(description="mqtt or webhook.")
    target: str = Field(description="Topic or URL.")
    state: str = Field(description="pending, delivered or failed.")
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, d: Delivery) -> DeliveryPublic:
        return cls(**{name: getattr(d, name) for name in cls.model_fields})


class DeliveryList(BaseModel):
    counts: dict[str, int] = Field(
        description="Deliveries by state, in the whole outbox (for a caller scoped to grids: its grids' deliveries"
        " among the newest 5,000)."
    )
    deliveries: list[DeliveryPublic]


class IncidentPublic(BaseModel):
    id: str
    type: str
    first_at: datetime
    last_at: datetime
    path: list[dict[str, Any]] = Field(description="Cameras in time order, with event ids and times.")
    direction: str | None
    speed_mps: float | None
    next_cameras: list[str]
    text: str
    hidden_steps: int = Field(
        0, description="Steps of the path on cameras outside the caller's grids, left out of path and text."
    )

    @classmethod
    def of(cls, incident: Incident, sees_camera: Callable[[str], bool] | None = None) -> IncidentPublic:
        """The incident; for a caller scoped to grids (``sees_camera``), without the other grids' cameras."""
        s = incident.summary
        path: list[dict[str, Any]] = list(s.get("path", []))
        nexts: list[str] = list(s.get("next_cameras", []))
        text = str(s.get("text", ""))
        shown = path
        if sees_camera is not None:
            shown = [step for step in path if sees_camera(str(step.get("camera_id")))]
            seen_nexts = [c for c in nexts if sees_camera(c)]
            if len(shown) < len(path) or len(seen_nexts) < len(nexts):
                nexts = seen_nexts
                visited = list(dict.fromkeys(str(step.get("camera_id")) for step in shown))
                text = summary_text(visited, s.get("direction"), s.get("speed_mps"), nexts)
                if len(shown) < len(path):
                    text += f"; {len(path) - len(shown)} more in other grids"
        return cls(
            id=incident.id,
            type=incident.type,
            first_at=incident.first_at,
            last_at=incident.last_at,
            path=shown,
            direction=s.get("direction"),
            speed_mps=s.get("speed_mps"),
            next_cameras=nexts,
            text=text,
            hidden_steps=len(path) - len(shown),
        )


class TeamPublic(BaseModel):
    name: str
    grids: list[str]
    mqtt_topic: str | None
    webhooks: list[str] = Field(description="Webhook URLs (their signing keys are never shown).")
    escalation_contacts: list[str]
    escalation_s: float | None


def teams_public(settings: IncidentsSettings, *, full_urls: bool = False) -> list[TeamPublic]:
    """The teams as shown; webhook URLs with their query values and userinfo masked unless ``full_urls`` (the
    tokens a receiver puts there are as good as the signing key for whoever can post to it)."""
    shown = (lambda url: url) if full_urls else mask_query
    teams = [
        TeamPublic(
            name=t.name,
            grids=list(t.grids),
            mqtt_topic=t.channels.mqtt_topic,
            webhooks=[shown(w.url) for w in t.channels.webhooks],
            escalation_contacts=list(t.escalation_contacts),
            escalation_s=t.escalation_s,
        )
        for t in settings.teams
    ]
    sup = settings.supervisor
    supervisor = TeamPublic(
        name="supervisor",
        grids=[],
        mqtt_topic=sup.mqtt_topic,
        webhooks=[shown(w.url) for w in sup.webhooks],
        escalation_contacts=[],
        escalation_s=None,
    )
    return [*teams, supervisor]


def feed_message(entry: FeedEntry) -> str:
    """One Server-Sent Event (the feed number is its id, for ``Last-Event-ID``)."""
    data = EventPublic.of(entry.event).model_dump_json()
    return f"id: {entry.seq}\nevent: {entry.kind}\ndata: {data}\n\n"
