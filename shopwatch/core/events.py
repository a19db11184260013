"""Events: the values detection hands to whatever consumes them (the incidents store, alerts, ``analyze``).

An event is immutable and self-contained: which camera, what, when, how sure, who (the actor's track and boxes)
and why (the rule's evidence and JPEG snapshots), so it can be stored, routed and shown without going back to
the video. Boxes are normalized ``(x1, y1, x2, y2)`` in 0-1 of the frame."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

Box = tuple[float, float, float, float]


class EventType(StrEnum):
    CARD_POSTING = "card_posting"
    LOITERING = "loitering"
    INTRUSION = "intrusion"


@dataclass(frozen=True, slots=True)
class CardEvidence:
    """What a card-posting visit left behind: one box per new card-sized patch on the touched surface."""

    patches: tuple[Box, ...]
    touched: Box  # the part of the surface the actor reached, where before/after were compared


def new_event_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Event:
    camera_id: str
    type: EventType
    start: float  # wall time (epoch seconds) the behaviour began: first contact, entry into the zone
    end: float  # wall time it was complete: the actor left, the dwell was reached
    confidence: float  # 0-1: the actor's detection confidence (median over the visit)
    track_id: int
    box: Box  # the actor's box in its best frame
    zone: str
    detected_at: float  # wall time the pipeline emitted it (latency = detected_at - end)
    track_boxes: tuple[Box, ...] = ()  # the actor's path, a box per sampled frame
    evidence: CardEvidence | None = None
    # JPEG bytes by name: "actor" (best frame of the actor), "before" / "after" (the touched surface)
    snapshots: Mapping[str, bytes] = field(default_factory=lambda: MappingProxyType({}))
    clip_path: str | None = None  # set live, from the packet ring buffer
    id: str = field(default_factory=new_event_id)

    def __reduce__(self) -> tuple[Any, ...]:
        """Events cross process boundaries (a worker's detection -> the service); a mapping proxy does not pickle."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["snapshots"] = dict(self.snapshots)
        return (_event_from_fields, (values,))

    def summary(self) -> dict[str, Any]:
        """The event without picture bytes, as plain JSON-able values."""
        out: dict[str, Any] = {
            "id": self.id,
            "camera_id": self.camera_id,
            "type": self.type.value,
            "start": self.start,
            "end": self.end,
            "confidence": round(self.confidence, 3),
            "track_id": self.track_id,
            "box": [round(v, 4) for v in self.box],
            "zone": self.zone,
            "detected_at": self.detected_at,
            "snapshots": sorted(self.snapshots),
            "clip_path": self.clip_path,
        }
        if self.evidence is not None:
            out["patches"] = [[round(v, 4) for v in p] for p in self.evidence.patches]
        return out


def _event_from_fields(values: dict[str, Any]) -> Event:
    return Event(**{**values, "snapshots": MappingProxyType(values["snapshots"])})


class EventSink(Protocol):
    """Where events go, one way: detection -> the worker (which adds the clip) -> the supervisor -> incidents.

    ``submit`` never blocks (it is called from detection threads and from the service's event loop); it answers
    False when the sink had to drop the event (and counted it)."""

    def submit(self, event: Event) -> bool: ...
