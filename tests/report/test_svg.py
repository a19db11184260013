"""The report's bar charts: round axis ticks, a bar per month and category, names escaped."""

from __future__ import annotations

import pytest

from shopwatch.report.svg import NOW_COLOUR, Series, axis, bar_chart


@pytest.mark.parametrize(("value", "expected"), [(0, (1, 1)), (5, (5, 1)), (7, (8, 2)), (11, (15, 5)), (99, (100, 20))])
def test_axis_has_whole_round_ticks(value: int, expected: tuple[int, int]) -> None:
    assert axis(value) == expected


def test_a_chart_has_two_bars_per_category_and_escapes_names() -> None:
    svg = bar_chart(Series(["a<b", "c"], [3, 0], [1, 2], ("now", "before")), "by <grid>")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "a&lt;b" in svg and "by &lt;grid&gt;" in svg and "a<b" not in svg
    assert svg.count("<title>") == 1 + 4  # the chart's and one per bar
    assert svg.count(f'fill="{NOW_COLOUR}"') == 2 + 1  # this month's bars and the legend's swatch
    assert "<title>a&lt;b: 3</title>" in svg
