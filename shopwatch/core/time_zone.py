"""The one check of an IANA time-zone name, shared by every setting that names a zone."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator


def check_time_zone(value: str) -> str:
    """``value`` if the host's zone database knows it, else a ValueError saying what was expected."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"expected an IANA time zone such as 'Asia/Shanghai', found {value!r}") from None
    return value


TimeZoneName = Annotated[str, AfterValidator(check_time_zone)]
