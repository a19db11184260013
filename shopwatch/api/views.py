"""Config and health into the plain dicts the API answers with, in the shape of ``shopwatch.api.schemas``.

Plain dicts because the camera list answers for 1,200 cameras on every console refresh: validating a pydantic
model per camera costs several times more than building the dict. Tests validate these against the schemas.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import Response
from pydantic_core import to_json

from shopwatch.api.health_reason import why_kind
from shopwatch.core.config import CameraConfig
from shopwatch.core.health import CameraHealth, CameraState, DetectionStatus, EventsHealth
from shopwatch.core.redact import redact_text, strip_credentials


@functools.lru_cache(maxsize=8192)  # a camera's "since" stays the same for report after report
def iso_utc(epoch_s: float) -> str:
    """Seconds since the epoch as ISO 8601 UTC with milliseconds: ``2027-01-15T08:00:00.000Z``."""
    return datetime.fromtimestamp(epoch_s, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _safe_url(url: str | None) -> str | None:
    return None if url is None else strip_credentials(url)


def health_view(health: CameraHealth, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    stream = health.stream
    return {
        "state": health.state.value,
        "since": iso_utc(health.since),
        "mode": health.mode.value,
        "last_packet_age_s": health.last_packet_age_s,
        "packets_per_s": health.packets_per_s,
        "frames_per_s": health.frames_per_s,
        "kbit_per_s": health.kbit_per_s,
        "reconnects": health.reconnects,
        # Workers redact already; masking again here keeps the API safe on its own.
        "last_error": None if health.last_error is None else _redacted(health.last_error, secrets),
        "why_kind": why_kind(health.last_error),
        "stream": None
        if stream is None
        else {"codec": stream.codec, "width": stream.width, "height": stream.height, "fps": stream.fps},
        "time_to_first_packet_s": health.time_to_first_packet_s,
        "next_retry_in_s": health.next_retry_in_s,
        "worker": health.worker,
        "events": None if health.events is None else events_view(health.events, secrets),
        "detection": None if health.detection is None else detection_view(health.detection),
        "counters": {
            "packets_total": health.packets_total,
            "frames_total": health.frames_total,
            "keyframes_total": health.keyframes_total,
            "frames_dropped": health.frames_dropped,
            "activations": health.activations,
            "internal_errors": health.internal_errors,
        },
    }


# Its fields are all plain values: read them by name (``dataclasses.asdict`` deep-copies each one and was most of
# the cost of the camera list, 1,200 cameras' health new every second).
_DETECTION_FIELDS = tuple(f.name for f in fields(DetectionStatus))


def detection_view(detection: DetectionStatus) -> dict[str, Any]:
    return {name: getattr(detection, name) for name in _DETECTION_FIELDS}


@functools.lru_cache(maxsize=4096)  # the same error is reported again every second until it changes
def _redacted(text: str, secrets: tuple[str, ...]) -> str:
    return redact_text(text, secrets)


def events_view(events: EventsHealth, secrets: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "state": events.state.value,
        "since": iso_utc(events.since),
        "motion_events": events.motion_events,
        "tamper_events": events.tamper_events,
        "last_event_at": None if events.last_event_at is None else iso_utc(events.last_event_at),
        "tampered": events.tampered,
        "subscriptions_created": events.subscriptions_created,
        "renewals": events.renewals,
        "last_error": None if events.last_error is None else _redacted(events.last_error, secrets),
    }


def camera_view(camera: CameraConfig, health: CameraHealth | None) -> dict[str, Any]:
    """One camera for operators: safe config fields and live health. Credentials only as presence."""
    return {**config_view(camera), "health": None if health is None else health_view(health, camera.secrets())}


def config_view(camera: CameraConfig) -> dict[str, Any]:
    """The configuration part of ``camera_view``; no password, URLs without userinfo."""
    talkback = camera.talkback
    quiet = talkback.quiet_hours
    location = camera.location
    return {
        "id": camera.id,
        "name": camera.name,
        "merchant": {"name": camera.merchant.name, "phone": camera.merchant.phone},
        "address": camera.address,
        "grid": camera.grid,
        "location": None if location is None else {"lat": location.lat, "lon": location.lon},
        "vendor": camera.vendor.value,
        "host": camera.host,
        "port": camera.port,
        "transport": None if camera.transport is None else camera.transport.value,
        "has_credentials": bool(camera.credentials.username),
        "streams": {"detect": _safe_url(camera.streams.detect), "record": _safe_url(camera.streams.record)},
        "talkback": {
            "capable": talkback.capable,
            "allowed": talkback.allowed,
            "quiet_hours": None
            if quiet is None
            else {"start": quiet.start.isoformat(), "end": quiet.end.isoformat()},
        },
        "enabled": camera.enabled,
    }


class CameraViews:
    """Camera views for one app, with the configuration part cached (stripping URLs is most of the cost).

    Keyed by camera id and checked by identity: configs are frozen, and a reload or edit hands over a new object,
    which is rendered again. The cache holds at most ``max_entries`` and starts over when full, so cameras
    removed from the registry do not pile up.
    """

    def __init__(self, max_entries: int = 20_000) -> None:
        self._max_entries = max_entries
        self._configs: dict[str, tuple[CameraConfig, dict[str, Any]]] = {}
        self._config_json: dict[str, tuple[CameraConfig, bytes]] = {}
        self._health_json: dict[str, tuple[CameraHealth, bytes]] = {}

    def __len__(self) -> int:
        return len(self._configs)

    def view(self, camera: CameraConfig, health: CameraHealth | None) -> dict[str, Any]:
        # A new outer dict per answer; the cached inner dicts are shared and never mutated.
        base = self._config_part(camera)
        return {**base, "health": None if health is None else health_view(health, camera.secrets())}

    def _config_part(self, camera: CameraConfig) -> dict[str, Any]:
        cached = self._configs.get(camera.id)
        if cached is not None and cached[0] is camera:
            return cached[1]
        if len(self._configs) >= self._max_entries:
            self._configs.clear()
        base = config_view(camera)
        self._configs[camera.id] = (camera, base)
        return base

    def encoded(self, camera: CameraConfig, health: CameraHealth | None) -> bytes:
        """``view`` as JSON: the config part and the health part are each kept as bytes until replaced (both
        are frozen and replaced, never mutated), so a camera that reported since is encoded health only."""
        config = self._config_json.get(camera.id)
        if config is None or config[0] is not camera:
            if len(self._config_json) >= self._max_entries:
                self._config_json.clear()
            config = (camera, to_json(self._config_part(camera)))
            self._config_json[camera.id] = config
        if health is None:
            return config[1][:-1] + b',"health":null}'
        cached = self._health_json.get(camera.id)
        if cached is None or cached[0] is not health:
            if len(self._health_json) >= self._max_entries:
                self._health_json.clear()
            cached = (health, to_json(health_view(health, camera.secrets())))
            self._health_json[camera.id] = cached
        return config[1][:-1] + b',"health":' + cached[1] + b"}"

    def list_body(self, cameras: list[tuple[CameraConfig, CameraHealth | None]], summary: dict[str, Any]) -> bytes:
        """``{"count", "summary", "cameras"}`` as JSON, from the per-camera encodings."""
        head = to_json({"count": len(cameras), "summary": summary})
        items = b",".join([self.encoded(c, h) for c, h in cameras])
        return head[:-1] + b',"cameras":[' + items + b"]}"


def json_response(body: Any, status_code: int = 200) -> Response:
    """JSON encoded by pydantic-core (about 3x faster than ``json.dumps`` on the 1 MB camera list)."""
    return Response(to_json(body), status_code=status_code, media_type="application/json")


def state_counts(states: Iterable[CameraState | None]) -> dict[str, Any]:
    """Summary of cameras per state; every state is present, ``None`` counts as no health yet."""
    by_state = dict.fromkeys((s.value for s in CameraState), 0)
    total = no_health = 0
    for state in states:
        total += 1
        if state is None:
            no_health += 1
        else:
            by_state[state.value] += 1
    return {"total": total, "by_state": by_state, "no_health": no_health}
