// The camera wall: tiles grouped by grid, a fixed layout (2×2 … 6×6) and pages, so at most 36 tiles are ever
// mounted, never 1,200. Each tile is a still picture (GET /api/cameras/{id}/still.jpg: the ingest's latest
// keyframe, kept a moment by the server with an ETag), refreshed only while the tile is on screen, the wall is
// shown and the browser tab is visible. States (offline with why, motion, an unhandled event) arrive over the
// event stream's `camera` messages and the event feed; they are data attributes the style sheet draws.

import { t } from "./i18n.js";
import { cameraLabel } from "./util.js";

const REFRESH_MS = 2000;
const byId = (id) => document.getElementById(id);

export class Wall {
  constructor(root, { onPick }) {
    this.root = root;
    this.onPick = onPick;  // a tile clicked: its camera's events
    this.cameras = [];     // [{id, name, merchant, grid, health}] in registry order
    this.alarms = new Map();  // camera id -> Set of unhandled event ids
    this.page = 0;
    this.size = 3;
    this.grid = "";
    this.shown = false;
    this.visible = new Set();  // camera ids of tiles on screen
    this.observer = new IntersectionObserver((entries) => this.seen(entries));
    this.timer = null;
    document.addEventListener("visibilitychange", () => this.schedule());
    const layout = () => this.setLayout(Number(byId("wall-layout").value), byId("wall-grid").value);
    byId("wall-layout").addEventListener("change", layout);
    byId("wall-grid").addEventListener("change", layout);
    byId("wall-prev").addEventListener("click", () => this.turn(-1));
    byId("wall-next").addEventListener("click", () => this.turn(1));
  }

  setCameras(cameras) {
    this.cameras = cameras;
    const grids = [...new Set(cameras.map((c) => c.grid))].sort();
    const menu = byId("wall-grid");
    const chosen = menu.value;
    menu.replaceChildren(menu.options[0], ...grids.map((grid) => Object.assign(document.createElement("option"),
                                                                              { value: grid, textContent: grid })));
    menu.value = grids.includes(chosen) ? chosen : "";
    this.grid = menu.value;
    this.render();
  }

  setLayout(size, grid) {
    this.size = size;
    this.grid = grid;
    this.page = 0;
    this.render();
  }

  show(on) {
    this.shown = on;
    this.schedule();
  }

  pages() {
    const count = this.filtered().length;
    return Math.max(1, Math.ceil(count / (this.size * this.size)));
  }

  turn(delta) {
    this.page = Math.min(this.pages() - 1, Math.max(0, this.page + delta));
    this.render();
  }

  filtered() {
    return this.cameras.filter((c) => !this.grid || c.grid === this.grid);
  }

  render() {
    this.observer.disconnect();
    this.visible.clear();
    const per = this.size * this.size;
    this.page = Math.min(this.page, this.pages() - 1);
    const cameras = this.filtered().slice(this.page * per, (this.page + 1) * per);
    this.root.className = `wall n${this.size}`;
    this.root.replaceChildren(...cameras.map((camera) => this.tile(camera)));
    for (const tile of this.root.children) this.observer.observe(tile);
    this.label();
  }

  label() {
    const page = byId("wall-page");
    page.textContent = t("wall.page", { page: this.page + 1, pages: this.pages(), cameras: this.filtered().length });
  }

  tile(camera) {
    const img = document.createElement("img");
    img.alt = t("wall.picture_alt", { name: camera.name });
    const caption = document.createElement("figcaption");
    caption.textContent = cameraLabel(camera, camera.id);  // the merchants' words (a shop left unnamed: the camera's)
    const state = document.createElement("span");
    state.className = "tile-state";
    const alarm = document.createElement("span");
    alarm.className = "tile-alarm";
    const tile = document.createElement("figure");
    tile.className = "tile";
    tile.dataset.camera = camera.id;
    tile.tabIndex = 0;
    tile.append(img, state, alarm, caption);
    tile.addEventListener("click", () => this.onPick(camera.id));
    tile.addEventListener("keydown", (e) => e.key === "Enter" && this.onPick(camera.id));
    this.paint(tile, camera);
    return tile;
  }

  tileOf(cameraId) {
    return this.root.querySelector(`[data-camera="${CSS.escape(cameraId)}"]`);
  }

  // A camera's state as the stream told it: {state, mode, why}.
  update(cameraId, health) {
    const camera = this.cameras.find((c) => c.id === cameraId);
    if (!camera) return;
    camera.health = { ...(camera.health || {}), state: health.state, mode: health.mode, last_error: health.why,
                      why_kind: health.why_kind };
    const tile = this.tileOf(cameraId);
    if (tile) this.paint(tile, camera);
  }

  // The camera's unhandled events: the tile is marked while there is one.
  alarm(cameraId, eventId, unhandled) {
    const ids = this.alarms.get(cameraId) || new Set();
    if (unhandled) ids.add(eventId);
    else ids.delete(eventId);
    this.alarms.set(cameraId, ids);
    const tile = this.tileOf(cameraId);
    const camera = this.cameras.find((c) => c.id === cameraId);
    if (tile && camera) this.paint(tile, camera);
  }

  paint(tile, camera) {
    const health = camera.health || { state: camera.enabled === false ? "disabled" : "unknown", mode: "idle" };
    tile.dataset.state = health.state;
    tile.dataset.mode = health.mode || "idle";
    const bad = health.state !== "online";
    // The reason in the page's language (its kind, from the API); the worker's own sentence on hover.
    const kind = health.why_kind && health.why_kind !== "other" ? health.why_kind : null;
    const reason = kind ? t(`why.${kind}`, {}, health.last_error) : health.last_error;
    const why = bad && health.last_error ? t("wall.why", { why: reason }) : "";
    if (bad && health.last_error) tile.title = health.last_error;
    else tile.removeAttribute("title");
    tile.querySelector(".tile-state").textContent = bad ? t(`health.${health.state}`, {}, health.state) + why
      : (health.mode === "active" ? t("wall.motion") : "");
    const alarms = this.alarms.get(camera.id);
    tile.dataset.alarm = alarms && alarms.size ? "on" : "off";
    tile.querySelector(".tile-alarm").textContent = alarms && alarms.size ? t("wall.alarm", { n: alarms.size }) : "";
  }

  retranslate() {
    for (const tile of this.root.children) {
      const camera = this.cameras.find((c) => c.id === tile.dataset.camera);
      if (camera) this.paint(tile, camera);
    }
    this.label();
  }

  seen(entries) {
    for (const entry of entries) {
      const id = entry.target.dataset.camera;
      if (entry.isIntersecting) {
        if (!this.visible.has(id)) {
          this.visible.add(id);
          if (this.shown) this.refresh(entry.target);
        }
      } else this.visible.delete(id);
    }
    this.schedule();
  }

  schedule() {
    const run = this.shown && document.visibilityState === "visible";
    if (run && !this.timer) this.timer = setInterval(() => this.refreshVisible(), REFRESH_MS);
    if (!run && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    if (run) this.refreshVisible();
  }

  // An offline camera's tile keeps its last picture (greyed) without asking again until the camera is back.
  refreshVisible() {
    for (const id of this.visible) {
      const tile = this.tileOf(id);
      const serving = tile && ["online", "stalled"].includes(tile.dataset.state);
      if (tile && (serving || !tile.dataset.picture)) this.refresh(tile);
    }
  }

  // Revalidates the tile's still (the browser sends If-None-Match; a 304 keeps the picture as it is).
  async refresh(tile) {
    if (tile.dataset.loading === "1") return;
    tile.dataset.loading = "1";
    const id = tile.dataset.camera;
    try {
      const response = await fetch(`/api/cameras/${encodeURIComponent(id)}/still.jpg`,
                                   { credentials: "same-origin", cache: "no-cache" });
      if (!response.ok) {
        tile.dataset.picture = "none";
        return;
      }
      const etag = response.headers.get("ETag");
      if (etag && etag === tile.dataset.etag) return;
      const url = URL.createObjectURL(await response.blob());
      const img = tile.querySelector("img");
      if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
      img.src = url;
      tile.dataset.etag = etag || "";
      tile.dataset.picture = "shown";
    } catch {
      tile.dataset.picture = "none";
    } finally {
      tile.dataset.loading = "0";
    }
  }
}
