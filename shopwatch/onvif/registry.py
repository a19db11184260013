"""Write what onboarding found into the camera registry: the same records as the YAML/CSV path.

A camera already registered is merged: only what the device tells (stream URLs, ONVIF port, profile tokens,
snapshot URL, events, speaker presence) and what the operator gave on this onboarding (name, grid,
credentials) change; merchant, address, location, consent, quiet hours and the rest stay as set by hand.
A speaker marked by hand is never unmarked because the device does not advertise one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from shopwatch.core.config import CameraConfig, Vendor
from shopwatch.onvif.device import OnvifTarget
from shopwatch.onvif.onboard import Findings
from shopwatch.store.cameras import CameraRepository, Source

_VENDOR_WORDS = (
    ("hikvision", Vendor.HIKVISION),
    ("dahua", Vendor.DAHUA),
    ("uniview", Vendor.UNIVIEW),
    ("axis", Vendor.AXIS),
)


@dataclass(frozen=True)
class CameraIdentity:
    """What the operator says about a camera being onboarded; None keeps the stored value."""

    camera_id: str
    name: str | None = None
    grid: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # as stored: inline or a ${SHOPWATCH_...} reference


def default_camera_id(target: OnvifTarget) -> str:
    """``onvif-192-168-1-20`` (``-8080`` appended for a port other than 80): a valid, stable id."""
    slug = re.sub(r"[^a-z0-9]+", "-", target.host.lower()).strip("-") or "device"
    suffix = "" if target.port == 80 else f"-{target.port}"
    return f"onvif-{slug}{suffix}"[:63]


def vendor_of(manufacturer: str) -> Vendor:
    low = manufacturer.lower()
    return next((vendor for word, vendor in _VENDOR_WORDS if word in low), Vendor.ONVIF)


def device_changes(target: OnvifTarget, findings: Findings) -> dict[str, Any]:
    """The part of a ``CameraConfig`` that the device itself determines, as a partial document."""
    detect = urlsplit(findings.detect_url)
    return {
        "host": target.host,
        "onvif_port": target.port,
        "port": detect.port or 554,
        "streams": {"detect": findings.detect_url, "record": findings.record_url},
        "onvif": {
            "events": findings.events,
            "snapshot_url": findings.snapshot_url,
            "detect_profile": findings.choice.detect.token,
            "record_profile": findings.choice.record.token,
            "backchannel": findings.backchannel,
        },
    }


def save_onboarded(
    repo: CameraRepository, target: OnvifTarget, findings: Findings, who: CameraIdentity
) -> Literal["created", "updated", "unchanged"]:
    """Create or merge the camera; ``ValueError`` when a new camera lacks a grid, ``ConfigError`` when the
    result would be invalid."""
    changes = device_changes(target, findings)
    if findings.backchannel or findings.audio_outputs:
        changes["talkback"] = {"capable": True}
    if who.name is not None:
        changes["name"] = who.name
    if who.grid is not None:
        changes["grid"] = who.grid
    credentials = {k: v for k, v in (("username", who.username), ("password", who.password)) if v is not None}
    if credentials:
        changes["credentials"] = credentials
    existing = repo.record(who.camera_id)
    if existing is not None:
        if existing.camera.vendor in (Vendor.GENERIC, Vendor.ONVIF):  # a vendor chosen by hand stays
            changes["vendor"] = vendor_of(findings.info.manufacturer).value
        before = existing.camera
        after = repo.merge(who.camera_id, changes, Source.ONVIF.value).camera
        return "unchanged" if after == before else "updated"
    if who.grid is None:
        raise ValueError(f"camera {who.camera_id!r} is new: a grid is needed (--grid, or a grid column)")
    info = findings.info
    document = {
        **changes,
        "id": who.camera_id,
        "name": who.name or f"{info.manufacturer} {info.model} at {target.host}".strip(),
        "vendor": vendor_of(info.manufacturer).value,
    }
    repo.upsert_many([CameraConfig.model_validate(document)], Source.ONVIF.value)
    return "created"
