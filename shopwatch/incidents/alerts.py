"""What a patrol receives: the alert payload (the same JSON on MQTT and webhooks), its topic, its webhook
signature, and the signed URLs of its pictures. Pure values and functions, no I/O.

Signed URLs let a phone in a chat group open a snapshot without an operator login: the URL names one
picture of one event and an expiry, and carries an HMAC-SHA256 over exactly those, so it opens nothing else
and stops working at the expiry."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from shopwatch.core.config import CameraConfig
from shopwatch.core.incident_records import StoredEvent

SIGNATURE_HEADER = "X-Shopwatch-Signature"  # "sha256=<hex HMAC of '<timestamp>.' + the raw body>"
TIMESTAMP_HEADER = "X-Shopwatch-Timestamp"  # epoch seconds when sent; signed with the body
REPLAY_WINDOW_S = 300  # a receiver refuses a delivery whose timestamp is further than this from its clock
DELIVERY_HEADER = "X-Shopwatch-Delivery"  # the delivery id
IDEMPOTENCY_HEADER = "Idempotency-Key"  # the delivery id again, under the name HTTP APIs use
MEDIA_PREFIX = "/media/events"
CLIP_NAME = "clip"
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")
_TOPIC_UNSAFE = str.maketrans({"/": "_", "+": "_", "#": "_", "\0": "_"})


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def topic_for(template: str, grid: str, event_type: str, camera_id: str) -> str:
    """A concrete topic; a grid name with MQTT separators or wildcards cannot change the topic's shape."""
    return template.format(
        grid=grid.translate(_TOPIC_UNSAFE), type=event_type.translate(_TOPIC_UNSAFE), camera=camera_id
    )


def body_signature(secret: bytes, body: bytes, timestamp: int) -> str:
    """The ``X-Shopwatch-Signature`` value: HMAC-SHA256 over the timestamp, a dot and the raw body, so a
    captured delivery cannot be replayed later under a fresh timestamp."""
    return "sha256=" + hmac.new(secret, b"%d." % timestamp + body, hashlib.sha256).hexdigest()


def verify_delivery(
    secret: bytes, body: bytes, signature: str | None, timestamp: str | None, now: float,
    window_s: float = REPLAY_WINDOW_S,
) -> bool:  # fmt: skip
    """The receiver's check (docs/INCIDENTS.md): the signature matches the timestamp and body, and the timestamp
    is within ``window_s`` of the receiver's clock. Deduplicating on ``Idempotency-Key`` for the window's length
    then refuses a replay inside it too."""
    if signature is None or timestamp is None or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(now - int(timestamp)) > window_s:
        return False
    return hmac.compare_digest(body_signature(secret, body, int(timestamp)).encode(), signature.encode())


@dataclass(frozen=True, slots=True)
class UrlSigner:
    base_url: str  # e.g. https://shopwatch.example.org
    secret: bytes
    ttl_s: float

    def _mac(self, event_id: str, name: str, expires: int) -> str:
        message = f"{event_id}\n{name}\n{expires}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def url(self, event_id: str, name: str, now: float) -> str:
        expires = int(now + self.ttl_s)
        suffix = "mp4" if name == CLIP_NAME else "jpg"
        query = urlencode({"expires": expires, "sig": self._mac(event_id, name, expires)})
        return f"{self.base_url.rstrip('/')}{MEDIA_PREFIX}/{event_id}/{name}.{suffix}?{query}"

    def valid(self, event_id: str, name: str, expires: int, sig: str, now: float) -> bool:
        if expires < now or not _HEX_SHA256.fullmatch(sig):  # compare_digest raises on non-ASCII: a 500
            return False
        return hmac.compare_digest(self._mac(event_id, name, expires), sig)


@dataclass(frozen=True, slots=True)
class AlertContext:
    """Everything an alert says besides the event itself."""

    camera: CameraConfig | None  # None: the camera was removed since
    incident: dict[str, Any] | None  # the linked incident's summary
    now: float  # wall time the URLs are signed at


def alert_payload(
    event: StoredEvent, context: AlertContext, signer: UrlSigner, *, delivery_id: str, reason: str
) -> dict[str, Any]:
    camera = context.camera
    payload: dict[str, Any] = {
        "delivery_id": delivery_id,
        "reason": reason,
        "event_id": event.id,
        "type": event.type,
        "time": iso(event.start),
        "end": iso(event.end),
        "detected_at": iso(event.detected_at),
        "confidence": round(event.confidence, 3),
        "zone": event.zone,
        "camera": {"id": event.camera_id, "name": camera.name if camera else event.camera_id},
        "merchant": {"name": camera.merchant.name, "phone": camera.merchant.phone} if camera else None,
        "address": camera.address if camera else "",
        "grid": event.grid,
        "location": camera.location.model_dump() if camera and camera.location else None,
        "snapshots": {name: signer.url(event.id, name, context.now) for name in sorted(event.snapshots)},
        "clip": signer.url(event.id, CLIP_NAME, context.now) if event.clip else None,
        "incident": context.incident,
        "text": alert_text(event, camera, context.incident),
    }
    return payload


def alert_text(event: StoredEvent, camera: CameraConfig | None, incident: dict[str, Any] | None) -> str:
    """One line for a chat message."""
    where = camera.merchant.name or camera.name if camera else event.camera_id
    address = f", {camera.address}" if camera and camera.address else ""
    text = f"{event.type.replace('_', ' ')} at {where}{address} ({event.grid}), {iso(event.start)}"
    if incident and incident.get("text"):
        text += f"; {incident['text']}"
    return text
