"""xs:duration and xs:dateTime values as ONVIF uses them for subscription times (``PT60S``,
``2027-01-15T08:00:00Z``). Parsing a string an untrusted peer sent: errors say what was found."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# ISO 8601 durations without years or months (their length depends on the calendar; ONVIF never sends them).
_DURATION_RE = re.compile(r"^P(?:(?P<d>\d+)D)?(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str) -> timedelta:
    match = _DURATION_RE.match(text.strip())
    if match is None or text.strip() in ("P", "PT"):
        raise ValueError(f"expected an xs:duration like PT60S, found {text!r}")
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return timedelta(days=parts["d"], hours=parts["h"], minutes=parts["m"], seconds=parts["s"])


def format_duration(seconds: float) -> str:
    return f"PT{max(0, round(seconds))}S"


def parse_datetime(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"expected an xs:dateTime like 2027-01-15T08:00:00Z, found {text!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def termination_seconds(text: str, now: datetime) -> float:
    """Seconds until the termination a client asked for: a duration, or an absolute time on the device clock."""
    text = text.strip()
    if text.startswith("P"):
        return parse_duration(text).total_seconds()
    return (parse_datetime(text) - now).total_seconds()
