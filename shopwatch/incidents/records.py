"""From a detection event to what is stored for it in one transaction: the event row, the incident it joined
and its patrol alerts. Pure: the service supplies the media already written, the link, the time and the
routing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shopwatch.core.config import CameraConfig
from shopwatch.core.events import Event
from shopwatch.core.incident_records import Incident, NewEvent, StoredEvent
from shopwatch.incidents import workflow
from shopwatch.incidents.alerts import AlertContext, UrlSigner, alert_payload
from shopwatch.incidents.linking import Link
from shopwatch.incidents.media import StoredMedia
from shopwatch.incidents.routing import Router

UNKNOWN_GRID = "unknown"


@dataclass(frozen=True, slots=True)
class Intake:
    """What turning events into records needs besides each event: routing, URL signing and the time."""

    router: Router
    signer: UrlSigner
    wall: float  # wall time the snapshot URLs are signed at
    now: datetime  # stored_at of the events


def new_event(
    event: Event, camera: CameraConfig | None, media: StoredMedia, link: Link | None, intake: Intake
) -> NewEvent:
    """The event as stored, its incident (when it linked) and its alert deliveries."""
    now = intake.now
    grid = camera.grid if camera is not None else UNKNOWN_GRID
    stored = StoredEvent(
        id=event.id,
        camera_id=event.camera_id,
        grid=grid,
        type=event.type.value,
        status=workflow.Status.NEW.value,
        start=utc(event.start),
        end=utc(event.end),
        detected_at=utc(event.detected_at),
        stored_at=now,
        confidence=float(event.confidence),
        zone=event.zone,
        detail=_detail(event),
        snapshots=media.snapshots,
        clip=media.clip,
        media_bytes=media.size_bytes,
        teams=[t.name for t in intake.router.teams_for(grid)],
        escalate_at=intake.router.escalate_at(grid, now),
        escalated_at=None,
        incident_id=link.incident_id if link else None,
        deterrence=None,
        updated_at=now,
    )
    incident = incident_of(link, stored.type)
    context = AlertContext(camera, public_incident(link), intake.wall)

    def payload(delivery_id: str, reason: str) -> dict[str, Any]:
        return alert_payload(stored, context, intake.signer, delivery_id=delivery_id, reason=reason)

    kind = camera.merchant.kind if camera is not None else ""
    return NewEvent(stored, intake.router.alert_deliveries(stored, payload, now, kind), incident)


def incident_of(link: Link | None, type_: str) -> Incident | None:
    """The incident row an event of ``type_`` that made ``link`` writes (created or updated)."""
    return None if link is None else Incident(link.incident_id, type_, utc(link.first), utc(link.last), link.summary)


def utc(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


def _detail(event: Event) -> dict[str, Any]:
    detail: dict[str, Any] = {"track_id": event.track_id, "box": [round(v, 4) for v in event.box]}
    if event.track_boxes:
        detail["track_boxes"] = [[round(v, 4) for v in b] for b in event.track_boxes]
    if event.evidence is not None:
        detail["patches"] = [[round(v, 4) for v in p] for p in event.evidence.patches]
    return detail


def public_incident(link: Link | None) -> dict[str, Any] | None:
    """The incident as an alert shows it."""
    if link is None:
        return None
    summary = {k: v for k, v in link.summary.items() if k != "events"}
    return {"id": link.incident_id, **summary}
