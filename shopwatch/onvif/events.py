"""ONVIF event notifications as values: which topics mean motion or tamper, and the state a message carries.

Topics and data item names follow the ONVIF Core Specification's event topic appendix and what cameras send
(Hikvision and Dahua use CellMotionDetector; Axis and many others VideoSource/MotionAlarm; MotionRegionDetector
is the Profile T rule). A message arrives either as zeep's serialised dict (the tt:Message schema is known to
zeep) or as an lxml element (a device that sends it in another namespace); both are read here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lxml import etree

from shopwatch.onvif.soap import TT


class EventKind(StrEnum):
    MOTION = "motion"
    TAMPER = "tamper"


# topic path (prefixes stripped) -> (kind, name of the Data SimpleItem holding the state)
TOPICS: dict[str, tuple[EventKind, str]] = {
    "RuleEngine/CellMotionDetector/Motion": (EventKind.MOTION, "IsMotion"),
    "VideoSource/MotionAlarm": (EventKind.MOTION, "State"),
    "RuleEngine/MotionRegionDetector/Motion": (EventKind.MOTION, "State"),
    "RuleEngine/TamperDetector/Tamper": (EventKind.TAMPER, "IsTamper"),
    "VideoSource/GlobalSceneChange/ImagingService": (EventKind.TAMPER, "State"),
}
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})


@dataclass(frozen=True)
class OnvifEvent:
    topic: str
    kind: EventKind
    active: bool  # motion (or tamper) on; False when the device reports it ended
    utc: datetime | None
    source: str | None  # the video source configuration token, when given


def topic_path(text: str) -> str:
    """``tns1:RuleEngine/CellMotionDetector/Motion`` -> ``RuleEngine/CellMotionDetector/Motion`` (whatever the
    prefixes: devices declare their own, some on every segment)."""
    return "/".join(part.split(":", 1)[-1] for part in text.strip().split("/") if part)


def _items_from_element(message: etree._Element, part: str) -> dict[str, str]:
    holder = message.find(f"{{{TT}}}{part}")
    if holder is None:
        return {}
    return {el.get("Name", ""): el.get("Value", "") for el in holder.iterfind(f"{{{TT}}}SimpleItem")}


def _items_from_mapping(message: Mapping[str, Any], part: str) -> dict[str, str]:
    holder = message.get(part) or {}
    items: Iterable[Mapping[str, Any]] = holder.get("SimpleItem") or []
    return {str(item.get("Name", "")): str(item.get("Value", "")) for item in items}


def parse_notification(topic: str, message: Mapping[str, Any] | etree._Element) -> OnvifEvent | None:
    """The motion or tamper event in one notification; None for any other topic or an unreadable state."""
    path = topic_path(topic)
    known = TOPICS.get(path)
    if known is None:
        return None
    kind, state_item = known
    if isinstance(message, etree._Element):
        data, source = _items_from_element(message, "Data"), _items_from_element(message, "Source")
        stamp = message.get("UtcTime")
        utc = datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None
    else:
        data, source = _items_from_mapping(message, "Data"), _items_from_mapping(message, "Source")
        raw = message.get("UtcTime")
        utc = raw if isinstance(raw, datetime) else None
    value = data.get(state_item, "").strip().lower()
    if value not in _TRUE | _FALSE:
        return None
    token = source.get("VideoSourceConfigurationToken") or source.get("Source") or source.get("VideoSourceToken")
    return OnvifEvent(path, kind, value in _TRUE, utc, token or None)
