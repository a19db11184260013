// The event work view's camera pane: how many cameras are in which state, and the table of cameras (a search
// asks the API), each row's state kept current from the event stream's `camera` messages. Shop, camera and grid
// names are the merchants' and the station's words, set as text.

import { t } from "./i18n.js";
import { api, el, shopName } from "./util.js";

const healthName = (health) => t(`health.${health}`, {}, health);

export class FleetPane {
  constructor({ table, summary, search }, { onList }) {
    this.table = table;
    this.summaryNode = summary;
    this.search = search;
    this.onList = onList;  // (cameras, searched): every camera the caller sees (searched false) or a search's
    this.summary = null;
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.load(), 250);
    });
  }

  async load() {
    const q = this.search.value.trim();
    const list = await api("/api/cameras" + (q ? "?q=" + encodeURIComponent(q) : ""));
    this.summary = list.summary;
    this.showSummary();
    this.table.tBodies[0].replaceChildren(...list.cameras.map((camera) => {
      const health = camera.health ? camera.health.state : "unknown";
      return el("tr", { dataset: { camera: camera.id } },
        el("td", {}, camera.name), el("td", {}, shopName(camera, camera.id)), el("td", {}, camera.grid),
        el("td", { class: "state " + health }, healthName(health)));
    }));
    this.onList(list.cameras, Boolean(q));
  }

  showSummary() {
    const summary = this.summary;
    if (!summary) return;
    const counts = Object.entries(summary.by_state).filter(([, n]) => n > 0)
      .map(([s, n]) => t("cameras.count", { n, state: healthName(s) }));
    this.summaryNode.textContent = t("cameras.summary", {
      total: summary.total, counts: counts.join(t("list.separator")) || t("cameras.no_health") });
  }

  // A camera's new state from the stream.
  update(cameraId, stateName) {
    const row = this.table.querySelector(`tr[data-camera="${CSS.escape(cameraId)}"]`);
    if (!row) return;
    row.cells[3].className = "state " + stateName;
    row.cells[3].textContent = healthName(stateName);
  }

  // The page's language changed: `health` gives each camera's state now.
  retranslate(health) {
    this.showSummary();
    for (const row of this.table.tBodies[0].rows) row.cells[3].textContent = healthName(health(row.dataset.camera));
  }
}
