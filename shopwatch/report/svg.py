"""Bar charts as inline SVG text, drawn here so the report needs no script and no network: one group of two bars
(this month, the month before) per category, a y axis with round ticks, and a legend."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

NOW_COLOUR = "#c0392b"
BEFORE_COLOUR = "#b8c4d0"
WIDTH = 680
HEIGHT = 230
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 26, 40


@dataclass(frozen=True, slots=True)
class Series:
    labels: Sequence[str]
    now: Sequence[int]
    before: Sequence[int]
    legend: tuple[str, str]  # names of the two bars: this month, the month before


def axis(value: int) -> tuple[int, int]:
    """(top, step) of a y axis reaching ``value``: the step is 1, 2 or 5 x 10^n, at most 5 steps, so every tick
    is a whole round number (a month's counts are whole)."""
    step = 1
    while True:
        for m in (1, 2, 5):
            if -(-max(value, 1) // (m * step)) <= 5:
                return m * step * -(-max(value, 1) // (m * step)), m * step
        step *= 10


def bar_chart(series: Series, title: str) -> str:
    """``<svg>`` with ``role="img"`` and the title as its accessible name; values are on each bar's tooltip."""
    count = len(series.labels)
    top, step = axis(max([*series.now, *series.before, 0]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(count, 1)
    bar = max(min(slot * 0.38, 28.0), 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}"'
        f' role="img" aria-label="{escape(title)}" class="chart">',
        f"<title>{escape(title)}</title>",
    ]
    for value in range(0, top + 1, step):
        y = TOP + plot_h - plot_h * value / top
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{value}</text>')
    every = max(1, -(-count // 24))  # at most 24 category labels under the axis
    for i, name in enumerate(series.labels):
        x0 = LEFT + slot * i + slot / 2
        for offset, value, colour in ((-bar, series.now[i], NOW_COLOUR), (0.0, series.before[i], BEFORE_COLOUR)):
            h = plot_h * value / top
            parts.append(
                f'<rect x="{x0 + offset:.1f}" y="{TOP + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}"'
                f' fill="{colour}"><title>{escape(name)}: {value}</title></rect>'
            )
        if i % every == 0:
            parts.append(
                f'<text x="{x0:.1f}" y="{TOP + plot_h + 16}" text-anchor="middle" class="cat">{escape(name)}</text>'
            )
    parts += _legend(series.legend)
    parts.append("</svg>")
    return "".join(parts)


def _legend(names: tuple[str, str]) -> list[str]:
    y = HEIGHT - 10
    out = []
    for n, (name, colour) in enumerate(zip(names, (NOW_COLOUR, BEFORE_COLOUR), strict=True)):
        x = LEFT + n * 120
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14}" y="{y}" class="legend">{escape(name)}</text>')
    return out
