// The case-analysis view (统计分析): GET /api/stats for a period against the period of the same length before it
// (the server counts, scoped to the caller's grids): the totals with their change, bar charts per event type,
// grid, local hour and weekday, the card-posting hot spots (each opens its camera on the map or its events),
// each camera's precision from the operators' verdicts, and the export (CSV, XLSX) of the same numbers.
// A count going up is drawn red and going down green: the station wants fewer cases (案发率 down). Tips from people
// (filed, confirmed, led to a case) have their own row, their change drawn blue: more tips are welcome.

import { language, t, when, zone } from "./i18n.js";
import { api, cameraLabel, el } from "./util.js";
import { dateText, parseDate, period, today } from "./period.js";
import { BarChart } from "./charts.js";

const METRICS = ["events", "confirmed", "false_positives", "incidents"];
const TIP_METRICS = ["filed", "confirmed", "led_to_case"];
const $ = (id) => document.getElementById(id);

function metricName(metric) {
  return { events: t("stats.metric.events"), confirmed: t("stats.metric.confirmed"),
           false_positives: t("stats.metric.false_positives"), incidents: t("stats.metric.incidents") }[metric];
}

function tipMetricName(metric) {
  return { filed: t("stats.tips.filed"), confirmed: t("stats.tips.confirmed"),
           led_to_case: t("stats.tips.led_to_case") }[metric];
}

function weekdayName(n) {  // ISO: 1 Monday ... 7 Sunday
  return [t("weekday.1"), t("weekday.2"), t("weekday.3"), t("weekday.4"), t("weekday.5"), t("weekday.6"),
          t("weekday.7")][n - 1];
}

function periodError(code) {
  return { date: t("stats.error.date"), order: t("stats.error.order"), long: t("stats.error.long") }[code];
}

// "▲ 5 (+166.7%)", its class (up, down, same) and, against an empty period, no percent.
function changeOf(change) {
  if (change.count === 0) return { kind: "same", text: t("stats.change.same") };
  const kind = change.count > 0 ? "up" : "down";
  const percent = change.percent === null ? t("stats.change.from_zero")
    : `${change.percent > 0 ? "+" : "-"}${Math.abs(change.percent).toFixed(1)}%`;
  return { kind, text: t("stats.change", { arrow: kind === "up" ? "▲" : "▼", n: Math.abs(change.count), percent }) };
}

const short = (iso) => when(iso).slice(0, 16);  // year first, to the minute, in the station's zone

export class StatsView {
  constructor(root, { cameras, onMap, onEvents }) {
    this.root = root;
    this.cameras = cameras;  // () => Map of id -> camera (the caller's grids only)
    this.onMap = onMap;      // (cameraId): show the camera on the map
    this.onEvents = onEvents;  // (cameraId, type): its events in the event list
    this.stats = null;
    this.asked = null;       // the query of the numbers shown, for the export links
    this.charts = { type: new BarChart($("chart-type")), grid: new BarChart($("chart-grid")),
                    hour: new BarChart($("chart-hour")), weekday: new BarChart($("chart-weekday")) };
    $("stats-period").addEventListener("change", () => this.periodChanged());
    $("stats-controls").addEventListener("submit", (e) => { e.preventDefault(); this.load(); });
    $("stats-grid").addEventListener("change", () => this.load());
    $("stats-metric").addEventListener("change", () => this.drawCharts());
  }

  periodChanged() {
    const custom = $("stats-period").value === "custom";
    $("stats-custom").hidden = !custom;
    if (!custom) return this.load();
    if (!$("stats-first").value) {  // start from the last 7 whole days
      const day = today(Date.now(), zone());
      $("stats-last").value = dateText(day);
      const first = new Date(Date.UTC(day.y, day.m - 1, day.d - 6));
      $("stats-first").value = dateText({ y: first.getUTCFullYear(), m: first.getUTCMonth() + 1, d: first.getUTCDate() });
    }
    return undefined;  // the custom days wait for 显示 / Show
  }

  // The grids the caller may count (those of the cameras it sees), for the grid menu.
  fillGrids() {
    const grids = [...new Set([...this.cameras().values()].map((c) => c.grid))].sort();
    const menu = $("stats-grid");
    const chosen = menu.value;
    menu.replaceChildren(menu.options[0], ...grids.map((g) => el("option", { value: g }, g)));  // merchants' words
    menu.value = grids.includes(chosen) ? chosen : "";
  }

  async show() {
    this.fillGrids();
    await this.load();
  }

  // The camera list arrived or changed: the grid menu and the cameras' names in the tables follow.
  camerasChanged() {
    this.fillGrids();
    if (this.stats) this.render();
  }

  query() {
    const kind = $("stats-period").value;
    const custom = { first: parseDate($("stats-first").value), last: parseDate($("stats-last").value) };
    const { from, to } = period(kind, Date.now(), zone(), custom);
    const params = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(to).toISOString() });
    if ($("stats-grid").value) params.append("grid", $("stats-grid").value);
    return params;
  }

  async load() {
    $("stats-message").textContent = "";
    let params;
    try {
      params = this.query();
    } catch (err) {
      if (!err.code) throw err;
      $("stats-message").textContent = periodError(err.code);
      return;
    }
    this.root.dataset.loading = "true";
    try {
      this.stats = await api("/api/stats?" + params);
      this.asked = params;
      this.render();
    } catch (err) {
      $("stats-message").textContent = t("error.other", { status: err.status || "-", detail: err.message });
    } finally {
      delete this.root.dataset.loading;
    }
  }

  render() {
    const stats = this.stats;
    if (!stats) return;
    $("stats-range").textContent = t("stats.range", {
      from: short(stats.from), to: short(stats.to), previous_from: short(stats.previous_from) });
    this.drawTotals();
    this.drawCharts();
    this.drawHotSpots();
    this.drawPrecision();
    this.exportLinks();
    $("stats-metric").querySelector("[value=tips]").hidden = !stats.tips;
    this.root.dataset.shown = `${stats.from}/${stats.to}`;  // what the page shows now (for people and tests)
  }

  drawTotals() {
    const card = (row, metric, label, tip) => {
      const change = changeOf(row.change[metric]);
      return el("div", { class: "total" + (tip ? " tip" : ""), dataset: { metric: (tip ? "tips." : "") + metric } },
        el("span", { class: "total-label" }, label),
        el("span", { class: "total-value" }, String(row.current[metric])),
        el("span", { class: `total-change ${change.kind}`, dataset: { change: change.kind } }, change.text),
        el("span", { class: "total-before" }, t("stats.before", { n: row.previous[metric] })));
    };
    const total = this.stats.total;
    $("stats-totals").replaceChildren(...METRICS.map((metric) => card(total, metric, metricName(metric), false)));
    const tips = this.stats.tips;  // GET /api/stats counts tips from people too
    $("stats-tips").hidden = !tips;
    if (tips) {
      $("stats-tip-totals").replaceChildren(
        ...TIP_METRICS.map((metric) => card(tips.total, metric, tipMetricName(metric), true)));
    }
  }

  // The charts of the metric chosen: an event count, or the tips filed (their own table, their own types).
  drawCharts() {
    if (!this.stats) return;
    const metric = $("stats-metric").value;
    const tips = metric === "tips";
    if (tips && !this.stats.tips) return;
    const table = tips ? this.stats.tips : this.stats;
    const count = tips ? "filed" : metric;
    const legend = { currentLabel: t("stats.current"), previousLabel: t("stats.previous") };
    const draw = (chart, rows, label) => chart.draw({
      ...legend, labels: rows.map((r) => label(r.key)),
      current: rows.map((r) => r.current[count]), previous: rows.map((r) => r.previous[count]) });
    const typeName = (type) => (tips ? t(`tip.type.${type}`, {}, type) : t(`type.${type}`, {}, type));
    draw(this.charts.type, table.by_type, typeName);
    draw(this.charts.grid, table.by_grid, (grid) => (grid === null ? t("stats.tips.no_grid") : grid));  // station's words
    draw(this.charts.hour, table.by_hour, (hour) => t("stats.hour", { h: String(hour).padStart(2, "0") }));
    draw(this.charts.weekday, table.by_weekday, weekdayName);
    for (const id of ["chart-type", "chart-grid", "chart-hour", "chart-weekday"]) $(id).dataset.metric = metric;
  }

  cameraCell(cameraId) {
    return el("td", { class: "camera", title: cameraId }, cameraLabel(this.cameras().get(cameraId), cameraId));
  }

  drawHotSpots() {
    const rows = this.stats.hot_spots.map((spot) => el("tr", { dataset: { camera: spot.camera_id, zone: spot.zone } },
      this.cameraCell(spot.camera_id), el("td", {}, spot.grid), el("td", {}, spot.zone),
      el("td", { class: "num" }, String(spot.card_postings)),
      el("td", { class: "actions" },
        el("button", { type: "button", class: "to-map", onclick: () => this.onMap(spot.camera_id) }, t("stats.on_map")),
        el("button", { type: "button", class: "to-events", onclick: () => this.onEvents(spot.camera_id, "card_posting") },
           t("stats.its_events")))));
    if (!rows.length) rows.push(el("tr", { class: "none" }, el("td", { colspan: "5" }, t("stats.no_hot_spots"))));
    $("hot-spots").tBodies[0].replaceChildren(...rows);
  }

  // Each camera's precision, the worst first (those are the ones to look at); cameras without verdicts last.
  drawPrecision() {
    const cameras = [...this.stats.cameras].sort((a, b) =>
      (a.precision ?? 2) - (b.precision ?? 2) || b.events - a.events || a.camera_id.localeCompare(b.camera_id));
    const rows = cameras.map((c) => el("tr", { dataset: { camera: c.camera_id } },
      this.cameraCell(c.camera_id), el("td", {}, c.grid), el("td", { class: "num" }, String(c.events)),
      el("td", { class: "num" }, String(c.confirmed)), el("td", { class: "num" }, String(c.false_positives)),
      el("td", { class: "num precision" + (c.precision !== null && c.precision < 0.5 ? " low" : ""),
                 title: c.precision === null ? t("stats.no_verdicts") : "" },
         c.precision === null ? "—" : `${(c.precision * 100).toFixed(1)}%`)));
    if (!rows.length) rows.push(el("tr", { class: "none" }, el("td", { colspan: "6" }, t("stats.no_events"))));
    $("precision").tBodies[0].replaceChildren(...rows);
  }

  // GET /api/stats/export with the numbers' own query, in the page's language (the sheet's headers).
  exportLinks() {
    for (const format of ["csv", "xlsx"]) {
      const params = new URLSearchParams(this.asked);
      params.set("format", format);
      params.set("lang", language());
      $(`stats-${format}`).href = "/api/stats/export?" + params;
    }
  }

  retranslate() {
    this.render();
  }
}
