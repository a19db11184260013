"""The monthly report as one self-contained HTML page: inline CSS, charts as inline SVG, no script, nothing
fetched. Every table has an ``id`` (``summary``, ``case-rate``, ``by-grid``, ``by-type``, ``by-hour``,
``by-weekday``, ``hot-spots``, ``tips``, ``tips-by-type``, ``tips-by-grid``, ``precision``), and so do the lines
with numbers (``card-hours``, ``precision-overall``; ``no-data`` on an empty month), so a reader's tools (and the
tests) can find them."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import timedelta
from html import escape

from shopwatch.report.labels import ADVICE, MONTHS_EN, TYPES, WEEKDAYS, Lang, words
from shopwatch.report.model import CameraLabel, MonthlyReport
from shopwatch.report.svg import Series, bar_chart
from shopwatch.store.event_stats import Compared, Counts
from shopwatch.store.tip_stats import TipCompared

CSS = """
@page { size: A4; margin: 14mm 12mm; }
body { font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", sans-serif;
       color: #222; margin: 0 auto; max-width: 720px; font-size: 13px; line-height: 1.45; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; border-left: 4px solid #c0392b;
padding-left: 8px; margin: 22px 0 8px; break-after: avoid; }
.meta { color: #666; margin: 0; } .empty { font-size: 18px; color: #c0392b; font-weight: bold; margin: 16px 0; }
table { border-collapse: collapse; width: 100%; margin: 6px 0; break-inside: auto; }
th, td { border: 1px solid #ccd; padding: 3px 6px; text-align: right; }
th { background: #f1f3f6; } td.key, th.key { text-align: left; } tr { break-inside: avoid; }
tr.sum td { font-weight: bold; background: #fafafa; } .up { color: #c0392b; } .down { color: #1e7e34; }
.note { color: #666; font-size: 12px; } section { break-inside: auto; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 4px 0; }
svg .grid { stroke: #e3e6ea; } svg text { font-size: 11px; fill: #444; }
"""


_NUMBER_RE = re.compile(r"^[-+\d.%—]*$")


class Td(str):
    """A cell already rendered as ``<td>`` HTML (a change, coloured by its sign); other cells are escaped text."""


Cell = str | int


def render_html(report: MonthlyReport, lang: Lang = "zh") -> str:
    w = words(lang)
    title = w["title"].format(year=report.month.year, month=report.month.month,
                              month_name=MONTHS_EN[report.month.month - 1])  # fmt: skip
    heading = f"{report.station} {title}" if report.station else title
    start, end = report.month.start(report.zone), report.month.end(report.zone)
    last_day = end.date() - timedelta(days=1)  # the end is the next month's first instant, excluded
    period = w["period"].format(start=start.date().isoformat(), end=last_day.isoformat(), zone=report.zone,
                                previous=str(report.month.previous()))  # fmt: skip
    body = [
        f"<header><h1>{escape(heading)}</h1><p class='meta'>{escape(period)}</p>"
        f"<p class='meta'>{escape(w['made'].format(made=report.made_at.strftime('%Y-%m-%d %H:%M')))}</p></header>"
    ]
    if report.grids is not None:
        grids = w["sep"].join(sorted(report.grids))
        body.append(f"<p class='meta' id='grids'>{escape(w['grids'].format(grids=grids))}</p>")
    if report.empty:
        body.append(f"<p class='empty' id='no-data'>{escape(w['no_data'])}</p>")
    body += _summary(report, lang)
    types = TYPES[lang]
    body += _dimension("by-grid", w["by_grid"], w["grid"], report.by_grid, str, lang)
    body += _dimension("by-type", w["by_type"], w["type"], report.by_type, lambda k: types.get(str(k), str(k)), lang)
    body += _dimension("by-hour", w["by_hour"], w["hour"], report.by_hour, lambda k: f"{k:02d}", lang, total=False)
    day = WEEKDAYS[lang]
    body += _dimension("by-weekday", w["by_weekday"], w["weekday"], report.by_weekday,
                       lambda k: day[int(k) - 1], lang, total=False)  # fmt: skip
    body += _hot_spots(report, lang)
    body += _tips(report, lang)
    body += _precision(report, lang)
    html_lang = "zh-CN" if lang == "zh" else "en"
    return (
        f"<!DOCTYPE html>\n<html lang='{html_lang}'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width, initial-scale=1'><title>{escape(heading)}</title>"
        f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )


def change(now: int, before: int, lang: Lang) -> str:
    """``+2 (+66.7%)``, ``-1 (-50.0%)``, ``0``; from nothing: ``+3 (新增)``."""
    diff = now - before
    if diff == 0:
        return "0"
    if before == 0:
        return f"{diff:+d} ({words(lang)['new']})"
    return f"{diff:+d} ({diff * 100 / before:+.1f}%)"


def _change_cell(now: int, before: int, lang: Lang) -> Td:
    css = "up" if now > before else "down" if now < before else ""
    return Td(f"<td class='{css}'>{escape(change(now, before, lang))}</td>")


def _table(table_id: str, head: Sequence[str], rows: Sequence[Sequence[Cell]], sum_row: bool = False) -> str:
    """Cells are escaped text, except a ``Td`` (already HTML)."""
    out = [f"<table id='{table_id}'><thead><tr>"]
    first = rows[0] if rows else []
    aligned = [_align(i, first[i]) if i < len(first) and not isinstance(first[i], Td) else "" for i in range(len(head))]
    out += [f"<th class='{'key' if i == 0 else aligned[i]}'>{escape(h)}</th>" for i, h in enumerate(head)]
    out.append("</tr></thead><tbody>")
    for n, row in enumerate(rows):
        css = " class='sum'" if sum_row and n == len(rows) - 1 else ""
        cells = [c if isinstance(c, Td) else f"<td class='{_align(i, c)}'>{escape(str(c))}</td>"
                 for i, c in enumerate(row)]  # fmt: skip
        out.append(f"<tr{css}>{''.join(cells)}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _align(column: int, cell: Cell) -> str:
    """Numbers (and percentages) right-aligned, words (names, shops, addresses, suggestions) left."""
    return "" if column > 0 and (isinstance(cell, int) or _NUMBER_RE.match(cell)) else "key"


def _summary(report: MonthlyReport, lang: Lang) -> list[str]:
    w = words(lang)
    now, before, year_ago = report.total.current, report.total.previous, report.year_ago
    rows: list[list[Cell]] = []
    for name in ("events", "confirmed", "false_positives", "incidents"):
        a, b = getattr(now, name), getattr(before, name)
        rows.append([w[name], a, b, _change_cell(a, b, lang)])
    case_rate: list[list[Cell]] = [[
        w["confirmed"], now.confirmed, before.confirmed, _change_cell(now.confirmed, before.confirmed, lang),
        year_ago.confirmed, _change_cell(now.confirmed, year_ago.confirmed, lang),
    ]]  # fmt: skip
    return [
        f"<section><h2>{escape(w['summary'])}</h2>",
        _table("summary", [w["metric"], w["this_month"], w["last_month"], w["mom"]], rows),
        f"<h2>{escape(w['case_rate'])}</h2>",
        _table(
            "case-rate", [w["metric"], w["this_month"], w["last_month"], w["mom"], w["year_ago"], w["yoy"]], case_rate
        ),  # fmt: skip
        f"<p class='note'>{escape(w['case_rate_note'])}</p></section>",
    ]


def _dimension(
    table_id: str, title: str, key_name: str, rows: Sequence[Compared], name: Callable[[str | int], str],
    lang: Lang, total: bool = True,
) -> list[str]:  # fmt: skip
    w = words(lang)
    head = [key_name, f"{w['events']}·{w['this_month']}", f"{w['events']}·{w['last_month']}", w["mom"],
            w["confirmed"], w["false_positives"], w["incidents"]]  # fmt: skip
    body: list[list[Cell]] = [_dimension_row(name(r.key), r.current, r.previous, lang) for r in rows]
    if total and rows:
        now = Counts(*(sum(getattr(r.current, f) for r in rows) for f in Counts.__dataclass_fields__))
        before = Counts(*(sum(getattr(r.previous, f) for r in rows) for f in Counts.__dataclass_fields__))
        body.append(_dimension_row(w["total"], now, before, lang))
    series = Series([name(r.key) for r in rows], [r.current.events for r in rows],
                    [r.previous.events for r in rows], (w["legend_now"], w["legend_before"]))  # fmt: skip
    chart = bar_chart(series, f"{title} · {w['events']}") if rows else ""
    table = (
        _table(table_id, head, body, sum_row=total and bool(rows))
        if rows
        else (f"<p class='note' id='{table_id}-none'>{escape(w['no_data'])}</p>")
    )
    return [f"<section><h2>{escape(title)}</h2>", chart, table, "</section>"]


def _dimension_row(key: str, now: Counts, before: Counts, lang: Lang) -> list[Cell]:
    return [key, now.events, before.events, _change_cell(now.events, before.events, lang), now.confirmed,
            now.false_positives, now.incidents]  # fmt: skip


def _camera_cells(camera_id: str, label: CameraLabel | None) -> list[Cell]:
    if label is None:
        return [camera_id, "", ""]
    name = camera_id if label.name == camera_id else f"{label.name} ({camera_id})"
    return [name, label.shop, label.address]


def _hot_spots(report: MonthlyReport, lang: Lang) -> list[str]:
    w, advice = words(lang), ADVICE[lang]
    hours = ""
    if report.card_hours:
        named = [w["card_hour"].format(hour=h, count=n) for h, n in report.card_hours]
        text = w["card_hours"].format(hours=w["sep"].join(named))
        hours = f"<p id='card-hours'>{escape(text)}</p>"
    if not report.hot_spots:
        return [f"<section><h2>{escape(w['hot_spots'])}</h2>{hours}<p class='note' id='hot-spots-none'>"
                f"{escape(w['hot_spots_none'])}</p></section>"]  # fmt: skip
    head = [w["camera"], w["shop"], w["address"], w["grid"], w["zone"], w["card_postings"], w["advice"]]
    rows: list[list[Cell]] = [
        [*_camera_cells(s.spot.camera_id, s.camera), s.spot.grid, s.spot.zone, s.spot.card_postings,
         w["sep"].join(advice[a.value] for a in s.advice)]
        for s in report.hot_spots
    ]  # fmt: skip
    return [f"<section><h2>{escape(w['hot_spots'])}</h2>", hours, _table("hot-spots", head, rows), "</section>"]


def _precision(report: MonthlyReport, lang: Lang) -> list[str]:
    w = words(lang)
    if not report.cameras:
        return [f"<section><h2>{escape(w['precision'])}</h2><p class='note' id='precision-none'>"
                f"{escape(w['precision_none'])}</p></section>"]  # fmt: skip
    head = [w["camera"], w["shop"], w["address"], w["grid"], w["events"], w["confirmed"], w["false_positives"],
            w["ratio"]]  # fmt: skip
    rows: list[list[Cell]] = [
        [*_camera_cells(p.verdicts.camera_id, p.camera), p.verdicts.grid, p.verdicts.events, p.verdicts.confirmed,
         p.verdicts.false_positives, "—" if p.ratio is None else f"{p.ratio * 100:.1f}%"]
        for p in report.cameras
    ]  # fmt: skip
    total = report.total.current
    judged = total.confirmed + total.false_positives
    ratio = "—" if not judged else f"{total.confirmed * 100 / judged:.1f}%"
    notes = [
        w["precision_overall"].format(ratio=ratio, confirmed=total.confirmed, false_positives=total.false_positives)
    ]
    if report.cameras_with_events > len(report.cameras):
        notes.append(w["precision_cut"].format(total=report.cameras_with_events, shown=len(report.cameras)))
    notes.append(w["precision_note"])
    return [
        f"<section><h2>{escape(w['precision'])}</h2>",
        f"<p id='precision-overall'>{escape(notes[0])}</p>",
        _table("precision", head, rows),
        *(f"<p class='note'>{escape(note)}</p>" for note in notes[1:]),
        "</section>",
    ]


def _tips(report: MonthlyReport, lang: Lang) -> list[str]:
    w, types = words(lang), TYPES[lang]
    now, before = report.tips.current, report.tips.previous
    rows: list[list[Cell]] = []
    for name in ("filed", "confirmed", "led_to_case"):
        a, b = getattr(now, name), getattr(before, name)
        rows.append([w[f"tips_{name}"], a, b, _change_cell(a, b, lang)])
    out = [
        f"<section><h2>{escape(w['tips'])}</h2>",
        _table("tips", [w["metric"], w["this_month"], w["last_month"], w["mom"]], rows),
    ]
    if now.filed == 0 and before.filed == 0:
        return [*out, f"<p class='note' id='tips-none'>{escape(w['tips_none'])}</p></section>"]
    head = [w["tips_filed"] + "·" + w["this_month"], w["tips_filed"] + "·" + w["last_month"], w["mom"],
            w["tips_confirmed"], w["tips_led_to_case"]]  # fmt: skip
    by_type = [(types.get(str(r.key), str(r.key)), r) for r in report.tips_by_type]
    by_grid = [(w["unresolved"] if r.key is None else str(r.key), r) for r in report.tips_by_grid]
    series = Series([name for name, _ in by_type], [r.current.filed for _, r in by_type],
                    [r.previous.filed for _, r in by_type], (w["legend_now"], w["legend_before"]))  # fmt: skip
    out.append(bar_chart(series, f"{w['tips']} · {w['tips_by_type']}"))
    for table_id, key_name, named in (("tips-by-type", w["type"], by_type), ("tips-by-grid", w["grid"], by_grid)):
        out.append(_table(table_id, [key_name, *head], [_tip_row(name, r, lang) for name, r in named]))
    return [*out, f"<p class='note'>{escape(w['tips_note'])}</p></section>"]


def _tip_row(name: str, row: TipCompared, lang: Lang) -> list[Cell]:
    now, before = row.current, row.previous
    return [name, now.filed, before.filed, _change_cell(now.filed, before.filed, lang), now.confirmed,
            now.led_to_case]  # fmt: skip
