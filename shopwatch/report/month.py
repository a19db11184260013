"""A calendar month of the station: parsed from ``YYYY-MM``, its bounds in the station's zone, the month before
and the same month a year earlier."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from shopwatch.core.errors import Invalid

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int  # 1..12

    @classmethod
    def parse(cls, text: str) -> Month:
        """``2026-11`` -> Month(2026, 11); anything else is ``Invalid`` saying what was expected."""
        found = _MONTH_RE.match(text.strip())
        if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1970:
            raise Invalid(f"--month: expected a month as YYYY-MM (e.g. 2026-11), found {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    def start(self, zone: str) -> datetime:
        """The month's first instant: local midnight of its first day."""
        return datetime(self.year, self.month, 1, tzinfo=ZoneInfo(zone))

    def end(self, zone: str) -> datetime:
        """The next month's first instant (excluded)."""
        return self.next().start(zone)

    def next(self) -> Month:
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def year_ago(self) -> Month:
        return Month(self.year - 1, self.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
