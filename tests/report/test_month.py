"""Months of the station's calendar: parsing, bounds in its zone, the month before and the year before."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shopwatch.core.errors import Invalid
from shopwatch.report.month import Month


@pytest.mark.parametrize(
    ("text", "expected", "error"),
    [
        ("2026-11", Month(2026, 11), None),
        (" 2026-01 ", Month(2026, 1), None),
        ("2026-13", None, "found '2026-13'"),
        ("2026-00", None, "found '2026-00'"),
        ("2026-1", None, "expected a month as YYYY-MM"),
        ("november", None, "found 'november'"),
        ("1969-12", None, "found '1969-12'"),
    ],
)
def test_parse(text: str, expected: Month | None, error: str | None) -> None:
    if error is None:
        assert Month.parse(text) == expected
    else:
        with pytest.raises(Invalid, match=error):
            Month.parse(text)


def test_bounds_are_local_midnights_and_neighbours_wrap_years() -> None:
    month = Month(2026, 1)
    assert month.start("Asia/Shanghai").astimezone(UTC) == datetime(2025, 12, 31, 16, tzinfo=UTC)
    assert month.end("Asia/Shanghai").astimezone(UTC) == datetime(2026, 1, 31, 16, tzinfo=UTC)
    assert (month.previous(), month.year_ago(), Month(2026, 12).next()) == (
        Month(2025, 12),
        Month(2025, 1),
        Month(2027, 1),
    )
    assert str(Month(2026, 3)) == "2026-03"
