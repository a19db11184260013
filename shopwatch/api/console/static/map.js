// The map: camera pins on the station's own street plan (api.console.map) or, without one, on the outlines of
// the grids drawn round their cameras; no tile layer (the station's network is offline). Pins are coloured by the
// camera's state (the event stream's `camera` messages), clustered when zoomed out, and blink while the camera
// has an unhandled event; an incident's path (its linked events' cameras in time order) is drawn with arrows,
// and the cameras it may reach next are ringed. A pin clicked opens the camera's panel (its live picture).
// Leaflet and leaflet.markercluster are vendored (vendor/VERSIONS) and loaded as classic scripts: window.L.

import { t } from "./i18n.js";
import { cameraLabel, el } from "./util.js";

const L = window.L;
const GRID_PAD = 0.00012;  // degrees round a grid's cameras (~13 m)
const WORST = ["alarm", "offline", "auth_failed", "stalled", "connecting", "unknown", "disabled", "online"];

function located(camera) {
  return camera.location && Number.isFinite(camera.location.lat) && Number.isFinite(camera.location.lon);
}

export class CameraMap {
  constructor(root, { onPick }) {
    this.root = root;
    this.onPick = onPick;
    this.map = null;
    this.cameras = new Map();  // id -> camera (with health)
    this.markers = new Map();  // id -> L.Marker
    this.alarms = new Map();   // id -> Set of unhandled event ids
    this.background = null;    // what /console/map.json said
    this.pathSteps = 0;
  }

  // Leaflet needs a sized container: the map is made the first time its view is shown.
  async show() {
    if (!this.map) {
      this.map = L.map(this.root, { attributionControl: false, maxZoom: 21, minZoom: 3, zoomSnap: 0.5 });
      this.backLayer = L.layerGroup().addTo(this.map);
      this.pathLayer = L.layerGroup().addTo(this.map);
      this.cluster = L.markerClusterGroup({
        maxClusterRadius: 36, disableClusteringAtZoom: 17, showCoverageOnHover: false,
        iconCreateFunction: (cluster) => this.clusterIcon(cluster),
      }).addTo(this.map);
      // The view as an attribute for whoever waits on it (people's tools, the tests): `data-moving` while a pan or
      // zoom (animated or not) is under way, `data-zoom` once it has ended.
      this.map.on("movestart", () => { this.root.dataset.moving = "on"; });
      this.map.on("moveend", () => {
        delete this.root.dataset.moving;
        this.root.dataset.zoom = String(this.map.getZoom());
      });
      this.map.setView([0, 0], 3);
      try {
        const response = await fetch("/console/map.json", { credentials: "same-origin" });
        this.background = response.ok ? await response.json() : { image: null };
      } catch {
        this.background = { image: null };
      }
      this.drawAll();
    }
    this.map.invalidateSize();
  }

  setCameras(cameras) {
    this.cameras = new Map(cameras.filter(located).map((c) => [c.id, c]));
    if (this.map) this.drawAll();
  }

  drawAll() {
    this.drawBackground();
    this.cluster.clearLayers();
    this.markers.clear();
    const markers = [...this.cameras.values()].map((camera) => this.marker(camera));
    this.cluster.addLayers(markers);
    this.root.dataset.pins = String(markers.length);
    this.fit();
  }

  fit() {
    const points = [...this.cameras.values()].map((c) => [c.location.lat, c.location.lon]);
    if (this.background && this.background.image) this.map.fitBounds(this.background.bounds);
    else if (points.length) this.map.fitBounds(L.latLngBounds(points).pad(0.15), { maxZoom: 19 });
  }

  // The station's image, or each grid's outline with its name: its drawn boundary (api.console.map.grids) or
  // the box round its cameras.
  drawBackground() {
    this.backLayer.clearLayers();
    if (this.background && this.background.image) {
      L.imageOverlay(this.background.image, this.background.bounds, { className: "map-image" }).addTo(this.backLayer);
      this.root.dataset.background = "image";
      return;
    }
    const grids = new Map();
    for (const camera of this.cameras.values()) {
      const box = grids.get(camera.grid) || L.latLngBounds([]);
      box.extend([camera.location.lat, camera.location.lon]);
      grids.set(camera.grid, box);
    }
    const drawn = (this.background && this.background.grids) || {};
    for (const grid of Object.keys(drawn)) if (!grids.has(grid)) grids.set(grid, null);
    for (const [grid, box] of grids) {
      let outline;
      if (drawn[grid]) {
        outline = L.polygon(drawn[grid], { className: "grid-outline drawn", interactive: false });
      } else {
        const sw = box.getSouthWest(), ne = box.getNorthEast();
        outline = L.rectangle([[sw.lat - GRID_PAD, sw.lng - GRID_PAD], [ne.lat + GRID_PAD, ne.lng + GRID_PAD]],
                              { className: "grid-outline", interactive: false });
      }
      outline.bindTooltip(el("span", {}, grid), { permanent: true, direction: "top", className: "grid-label" });
      outline.addTo(this.backLayer);
    }
    this.root.dataset.background = "grids";
  }

  stateOf(camera) {
    if (this.alarms.get(camera.id)?.size) return "alarm";
    return camera.health ? camera.health.state : (camera.enabled === false ? "disabled" : "unknown");
  }

  icon(camera) {
    const health = camera.health || {};
    const alarms = this.alarms.get(camera.id);
    const dot = el("span", { class: "pin-dot", dataset: {
      camera: camera.id, state: health.state || (camera.enabled === false ? "disabled" : "unknown"),
      mode: health.mode || "idle", alarm: alarms && alarms.size ? "on" : "off" } });
    return L.divIcon({ className: "pin", html: dot, iconSize: [18, 18], iconAnchor: [9, 9] });
  }

  label(camera) {
    const state = camera.health ? camera.health.state : "unknown";
    return el("span", {}, cameraLabel(camera, camera.id), el("br"), t(`health.${state}`, {}, state));
  }

  marker(camera) {
    const marker = L.marker([camera.location.lat, camera.location.lon], { icon: this.icon(camera), keyboard: true,
                                                                           title: camera.name });
    marker.state = this.stateOf(camera);
    marker.bindTooltip(() => this.label(this.cameras.get(camera.id) || camera), { direction: "top", offset: [0, -8] });
    marker.on("click", () => this.onPick(camera.id));
    this.markers.set(camera.id, marker);
    return marker;
  }

  repaint(cameraId) {
    const marker = this.markers.get(cameraId);
    const camera = this.cameras.get(cameraId);
    if (!marker || !camera) return;
    marker.state = this.stateOf(camera);
    marker.setIcon(this.icon(camera));
    this.cluster.refreshClusters(marker);
  }

  // A camera's state from the stream: {state, mode, why}.
  update(cameraId, health) {
    const camera = this.cameras.get(cameraId);
    if (!camera) return;
    camera.health = { ...(camera.health || {}), state: health.state, mode: health.mode, last_error: health.why,
                      why_kind: health.why_kind };
    this.repaint(cameraId);
  }

  // The camera's unhandled events: its pin (and the cluster holding it) blinks while there is one.
  alarm(cameraId, eventId, unhandled) {
    const ids = this.alarms.get(cameraId) || new Set();
    if (unhandled) ids.add(eventId);
    else ids.delete(eventId);
    this.alarms.set(cameraId, ids);
    this.repaint(cameraId);
  }

  // A cluster shows its count, coloured by its worst camera (an alarm first, then offline ... online).
  clusterIcon(cluster) {
    const states = cluster.getAllChildMarkers().map((m) => m.state);
    const worst = WORST.find((s) => states.includes(s)) || "unknown";
    const count = el("span", { class: "cluster-count", dataset: { state: worst } }, String(cluster.getChildCount()));
    return L.divIcon({ className: "pin-cluster", html: count, iconSize: [34, 34] });
  }

  // An incident's path: its cameras in time order with an arrow on each leg, numbered steps, the next cameras ringed.
  showPath(incident) {
    if (!this.map) return;
    this.pathLayer.clearLayers();
    const steps = incident.path.filter((s) => Number.isFinite(s.lat) && Number.isFinite(s.lon));
    const points = steps.map((s) => [s.lat, s.lon]);
    if (points.length > 1) {
      L.polyline(points, { className: "incident-path", interactive: false }).addTo(this.pathLayer);
      for (let i = 1; i < points.length; i += 1) {
        const head = arrowHead(points[i - 1], points[i]);
        if (head) L.polygon(head, { className: "incident-arrow", interactive: false }).addTo(this.pathLayer);
      }
    }
    steps.forEach((step, i) => {
      L.circleMarker([step.lat, step.lon], { radius: 9, className: "incident-step", interactive: false })
        .bindTooltip(el("span", {}, String(i + 1)), { permanent: true, direction: "center", className: "step-label" })
        .addTo(this.pathLayer);
    });
    for (const id of incident.next_cameras) {
      const camera = this.cameras.get(id);
      if (!camera) continue;
      L.circleMarker([camera.location.lat, camera.location.lon], { radius: 14, className: "incident-next",
                                                                   interactive: false }).addTo(this.pathLayer);
    }
    this.root.dataset.path = String(steps.length);
    this.root.dataset.arrows = String(Math.max(0, points.length - 1));
    if (points.length) this.map.fitBounds(L.latLngBounds(points), { padding: [90, 90], maxZoom: 20 });
  }

  // Brings a camera's pin into view, out of its cluster (a hot spot's "on the map"); `data-revealed` names it.
  reveal(cameraId) {
    const marker = this.markers.get(cameraId);
    if (!marker || !this.map) return;
    this.root.dataset.revealed = cameraId;
    this.cluster.zoomToShowLayer(marker, () => this.map.setView(marker.getLatLng(), Math.max(this.map.getZoom(), 18)));
  }

  clearPath() {
    if (this.pathLayer) this.pathLayer.clearLayers();
    delete this.root.dataset.path;
  }
}

// A triangle at the end of the leg a -> b (in degrees, corrected for the longitude's shrink), pointing along it.
function arrowHead(a, b) {
  const k = Math.cos((a[0] * Math.PI) / 180);
  const dx = (b[1] - a[1]) * k, dy = b[0] - a[0];
  const length = Math.hypot(dx, dy);
  if (length === 0) return null;
  const size = Math.min(length / 3, 0.00005);
  const ux = dx / length, uy = dy / length;
  const tip = [b[0] - uy * size * 0.6, b[1] - (ux * size * 0.6) / k];  // just short of the step's circle
  const back = [tip[0] - uy * size, tip[1] - (ux * size) / k];
  const side = size * 0.5;
  return [tip, [back[0] + ux * side, back[1] - (uy * side) / k], [back[0] - ux * side, back[1] + (uy * side) / k]];
}
