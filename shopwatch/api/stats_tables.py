"""The case-analysis answer (``StatsPublic``, the same model ``GET /api/stats`` returns) as plain tables for a
spreadsheet, headed in Chinese or English: the period, the total, per grid, type, local hour and weekday (each
with the previous period and the change), hot spots, each camera's precision, and the tips. Every cell is the
JSON answer's value (a null stays empty), so a spreadsheet and the API never disagree."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from shopwatch.api.stats_schemas import StatsPublic, StatsRow, TipStatsRow

Lang = Literal["zh", "en"]
Cell = str | int | float | None

EVENT_FIELDS = ("events", "confirmed", "false_positives", "incidents")
TIP_FIELDS = ("filed", "confirmed", "led_to_case")

# what each table, column and dimension is called: (English, Chinese)
WORDS: dict[str, tuple[str, str]] = {
    "period": ("Period", "统计期间"),
    "total": ("Total", "总计"),
    "by_grid": ("By grid", "按网格"),
    "by_type": ("By type", "按类型"),
    "by_hour": ("By hour", "按小时"),
    "by_weekday": ("By weekday", "按星期"),
    "hot_spots": ("Hot spots", "热点"),
    "cameras": ("Camera precision", "各摄像头准确率"),
    "tips": ("Tips", "线索"),
    "item": ("Item", "项目"),
    "value": ("Value", "值"),
    "from": ("From", "开始"),
    "to": ("To (excluded)", "结束（不含）"),
    "previous_from": ("Previous period from", "上期开始"),
    "timezone": ("Time zone", "时区"),
    "all": ("Scope", "范围"),
    "grid": ("Grid", "网格"),
    "type": ("Type", "类型"),
    "hour": ("Hour", "小时"),
    "weekday": ("Weekday (1 = Monday)", "星期（1=周一）"),
    "dimension": ("Table", "分类"),
    "key": ("Key", "项"),
    "camera_id": ("Camera", "摄像头"),
    "zone": ("Zone", "区域"),
    "card_postings": ("Card postings", "贴卡次数"),
    "precision": ("Precision", "准确率"),
    "events": ("Events", "告警数"),
    "confirmed": ("Confirmed", "确认数"),
    "false_positives": ("False positives", "误报数"),
    "incidents": ("Incidents", "警情数"),
    "filed": ("Tips filed", "线索数"),
    "tip_confirmed": ("Tips confirmed", "采纳数"),
    "led_to_case": ("Led to a case", "成案数"),
    "previous": ("Previous: {}", "上期{}"),
    "change": ("Change: {}", "{}变化"),
    "change_percent": ("Change %: {}", "{}变化率（%）"),
}


@dataclass(frozen=True, slots=True)
class Table:
    name: str  # the sheet's (or the CSV file's) name
    headers: list[str]
    rows: list[list[Cell]]


def language(lang: str | None, accept_language: str | None) -> Lang:
    """``zh`` when ``lang`` (or else the most wanted language of an ``Accept-Language`` header) is Chinese."""
    if lang:
        return "zh" if lang.lower().startswith("zh") else "en"
    wanted: list[tuple[float, int, str]] = []
    for n, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag:
            wanted.append((-weight, n, tag.lower()))
    for _, _, tag in sorted(wanted):
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en") or tag == "*":
            return "en"
    return "en"


class _Words:
    def __init__(self, lang: Lang) -> None:
        self._at = 1 if lang == "zh" else 0

    def __call__(self, word: str) -> str:
        return WORDS[word][self._at]

    def counts(self, fields: tuple[str, ...], tip: bool = False) -> list[str]:
        """current, previous, then change and change % for each field."""
        names = [self("tip_confirmed" if tip and f == "confirmed" else f) for f in fields]
        changes = [h for n in names for h in (self("change").format(n), self("change_percent").format(n))]
        return names + [self("previous").format(n) for n in names] + changes


def _count_cells(row: StatsRow | TipStatsRow, fields: tuple[str, ...]) -> list[Cell]:
    now, before, change = row.current.model_dump(), row.previous.model_dump(), row.change.model_dump()
    changes = [v for f in fields for v in (change[f]["count"], change[f]["percent"])]
    return [now[f] for f in fields] + [before[f] for f in fields] + changes


def stats_tables(stats: StatsPublic, lang: Lang) -> list[Table]:
    w = _Words(lang)
    period: list[list[Cell]] = [[w("from"), stats.from_], [w("to"), stats.to]]
    period += [[w("previous_from"), stats.previous_from], [w("timezone"), stats.timezone]]
    tables = [Table(w("period"), [w("item"), w("value")], period)]
    dimensions: list[tuple[str, str, list[StatsRow]]] = [("total", "all", [stats.total])]
    dimensions += [("by_grid", "grid", stats.by_grid), ("by_type", "type", stats.by_type)]
    dimensions += [("by_hour", "hour", stats.by_hour), ("by_weekday", "weekday", stats.by_weekday)]
    for name, key, rows in dimensions:
        tables.append(
            Table(w(name), [w(key), *w.counts(EVENT_FIELDS)], [[r.key, *_count_cells(r, EVENT_FIELDS)] for r in rows])
        )
    spots: list[list[Cell]] = [[s.camera_id, s.grid, s.zone, s.card_postings] for s in stats.hot_spots]
    tables.append(Table(w("hot_spots"), [w("camera_id"), w("grid"), w("zone"), w("card_postings")], spots))
    camera_headers = [w(h) for h in ("camera_id", "grid", "events", "confirmed", "false_positives", "precision")]
    cameras: list[list[Cell]] = [
        [c.camera_id, c.grid, c.events, c.confirmed, c.false_positives, c.precision] for c in stats.cameras
    ]
    tables.append(Table(w("cameras"), camera_headers, cameras))
    tips = stats.tips
    tip_rows: list[list[Cell]] = []
    tip_dimensions: list[tuple[str, list[TipStatsRow]]] = [("total", [tips.total]), ("by_grid", tips.by_grid)]
    tip_dimensions += [("by_type", tips.by_type), ("by_hour", tips.by_hour), ("by_weekday", tips.by_weekday)]
    for key, tip_table in tip_dimensions:
        tip_rows += [[w(key), r.key, *_count_cells(r, TIP_FIELDS)] for r in tip_table]
    tables.append(Table(w("tips"), [w("dimension"), w("key"), *w.counts(TIP_FIELDS, tip=True)], tip_rows))
    return tables
