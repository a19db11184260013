// "附近/沿街搜索" on the map view: what happened near a place or along a street in a window of the station's time
// (GET /api/search). Near: click the map for a centre and pick a radius; along: type the street as the shops'
// addresses write it. The answer (events and tips, oldest first) is listed in order with each one's camera, its
// distance and its picture and clip; an event opens in the work view; "more" fetches the next page.

import { t, when } from "./i18n.js";
import { api, cameraLabel, el } from "./util.js";

export class SearchPanel {
  constructor(root, cameraMap, { cameras, open }) {
    this.root = root;
    this.cameraMap = cameraMap;
    this.cameras = cameras;  // () => Map of id -> camera
    this.open = open;  // (event id) => shows the event
    this.centre = null;
    this.area = null;  // the circle drawn on the map
    this.query = null;
    this.cursor = null;
    this.form = root.querySelector("#search-form");
    this.form.addEventListener("submit", (e) => { e.preventDefault(); this.run(false); });
    this.form.elements.mode.addEventListener("change", () => this.showMode());
    this.form.elements.radius.addEventListener("change", () => this.drawArea());
    root.querySelector("#search-more").addEventListener("click", () => this.run(true));
    this.showMode();
  }

  // Called once the map exists: a click on it is the centre of a search near it.
  attach(map) {
    if (this.map === map) return;
    this.map = map;
    map.on("click", (e) => this.setCentre(e.latlng.lat, e.latlng.lng));
  }

  setCentre(lat, lon) {
    this.centre = { lat, lon };
    this.root.querySelector("#search-centre").textContent = t("search.centre", { lat: lat.toFixed(5), lon: lon.toFixed(5) });
    this.root.querySelector("#search-centre").dataset.set = "1";
    this.form.elements.mode.value = "near";
    this.showMode();
    this.drawArea();
  }

  drawArea() {
    if (!this.map || !this.centre || this.form.elements.mode.value !== "near") return;
    const radius = Number(this.form.elements.radius.value);
    if (this.area) this.area.remove();
    this.area = window.L.circle([this.centre.lat, this.centre.lon], { radius, className: "search-area" }).addTo(this.map);
  }

  showMode() {
    const near = this.form.elements.mode.value === "near";
    this.root.querySelector("#search-near").hidden = !near;
    this.root.querySelector("#search-along").hidden = near;
    if (!near && this.area) { this.area.remove(); this.area = null; }
    if (near) this.drawArea();
  }

  params() {
    const f = this.form.elements;
    const query = new URLSearchParams({ limit: "50" });
    if (f.mode.value === "near") {
      if (!this.centre) throw new Error(t("search.need_centre"));
      query.set("lat", String(this.centre.lat));
      query.set("lon", String(this.centre.lon));
      query.set("radius_m", f.radius.value);
    } else {
      if (f.street.value.trim().length < 2) throw new Error(t("search.need_street"));
      query.set("along", f.street.value.trim());
    }
    for (const name of ["date", "from", "to"]) if (f[name].value) query.set(name, f[name].value);
    if (f.kind.value) query.set("types", f.kind.value);
    return query;
  }

  async run(more) {
    const status = this.root.querySelector("#search-status");
    const list = this.root.querySelector("#search-results");
    try {
      if (!more) {
        this.query = this.params();
        this.cursor = null;
        list.replaceChildren();
      }
      const query = new URLSearchParams(this.query);
      if (more && this.cursor) query.set("cursor", this.cursor);
      status.textContent = t("search.searching");
      const page = await api(`/api/search?${query}`);
      for (const hit of page.results) list.append(this.row(hit));
      this.cursor = page.next_cursor;
      this.root.querySelector("#search-more").hidden = !page.next_cursor;
      status.textContent = list.children.length
        ? t("search.found", { n: list.children.length, cameras: page.cameras.length })
        : t("search.none", { cameras: page.cameras.length });
      if (!more) this.drawArea();
    } catch (err) {
      status.textContent = err.status ? t("search.failed", { detail: err.message }) : err.message;
    } finally {
      this.root.dataset.answered = String(Number(this.root.dataset.answered || 0) + 1);  // for tests and tools
    }
  }

  row(hit) {
    const camera = hit.camera ? this.cameras().get(hit.camera.id) : null;
    const place = hit.camera ? cameraLabel(camera, hit.camera.id) : (hit.tip && hit.tip.address) || t("search.no_place");
    const away = hit.distance_m === null ? "" : t("search.metres", { m: Math.round(hit.distance_m) });
    const item = el("li", { class: `hit ${hit.kind}`, dataset: { kind: hit.kind, id: hit[hit.kind].id } },
      el("time", { datetime: hit.time }, when(hit.time)));
    if (hit.kind === "event") {
      const event = hit.event;
      item.append(el("span", { class: "what" }, t(`type.${event.type}`, {}, event.type)),
                  el("span", { class: "status" }, t(`status.${event.status}`, {}, event.status)),
                  el("span", { class: "where" }, [place, away].filter(Boolean).join(" · ")));
      const links = el("span", { class: "links" });
      for (const [name, url] of Object.entries(event.snapshots)) links.append(el("a", { href: url, target: "_blank" }, t("search.picture", { name })));
      if (event.clip) links.append(el("a", { href: event.clip, target: "_blank" }, t("search.clip")));
      links.append(el("button", { type: "button", onclick: () => this.open(event.id) }, t("search.open")));
      item.append(links);
    } else {
      const tip = hit.tip;
      item.append(el("span", { class: "what" }, t("search.tip", { type: t(`tip.type.${tip.type}`, {}, tip.type) })),
                  el("span", { class: "status" }, t(`search.tip_status.${tip.status}`, {}, tip.status)),
                  el("span", { class: "where" }, [place, away].filter(Boolean).join(" · ")),
                  el("span", { class: "text" }, tip.text));
    }
    return item;
  }
}
