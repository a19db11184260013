// The incident view: an event linked across cameras (docs/INCIDENTS.md) shows its incident under the event:
// the linked events in time order (each opens its event), the direction and speed along the street, the cameras
// it may reach next, and a button that draws the path on the map. The words are ours (the catalogue); the
// server's English summary sentence is not shown.

import { t, when } from "./i18n.js";
import { api, cameraLabel, el } from "./util.js";

export class IncidentView {
  constructor(root, { cameras, onEvent, onMap }) {
    this.root = root;
    this.cameras = cameras;  // () => Map of id -> camera
    this.onEvent = onEvent;  // an event id clicked
    this.onMap = onMap;      // "on the map" clicked: the incident
    this.incident = null;
  }

  where(cameraId) {
    const camera = this.cameras().get(cameraId);
    return cameraLabel(camera, cameraId);  // the merchants' words
  }

  hide() {
    this.incident = null;
    this.root.hidden = true;
    this.root.replaceChildren();
  }

  async show(incidentId) {
    if (!incidentId) return this.hide();
    try {
      this.incident = await api(`/api/incidents/${encodeURIComponent(incidentId)}`);
    } catch {
      return this.hide();  // gone (retention) or outside the caller's grids
    }
    this.render();
  }

  render() {
    const incident = this.incident;
    if (!incident) return;
    const cameras = new Set(incident.path.map((s) => s.camera_id)).size;
    const facts = [t("incident.cameras", { n: cameras })];
    if (incident.direction) facts.push(t("incident.direction", { direction: t(`direction.${incident.direction}`, {}, incident.direction) }));
    if (incident.speed_mps != null) facts.push(t("incident.speed", { speed: incident.speed_mps.toFixed(1) }));
    if (incident.hidden_steps) facts.push(t("incident.hidden", { n: incident.hidden_steps }));
    const steps = incident.path.map((step, i) => el("li", { dataset: { event: step.event_id }, tabindex: "0",
        onclick: () => this.onEvent(step.event_id), onkeydown: (k) => k.key === "Enter" && this.onEvent(step.event_id) },
      el("span", { class: "step" }, String(i + 1)), " ", el("time", { datetime: step.time }, when(step.time)), " ",
      this.where(step.camera_id)));
    const next = incident.next_cameras.length
      ? incident.next_cameras.map((id) => this.where(id)).join(t("list.separator")) : t("incident.next_none");
    this.root.replaceChildren(
      el("h3", { dataset: { i18n: "incident.title" } }, t("incident.title")),
      el("p", { class: "incident-facts" }, facts.join(" · ")),
      el("ol", { class: "incident-steps" }, ...steps),
      el("p", { class: "incident-next" }, t("incident.next", { cameras: next })),
      el("button", { type: "button", class: "incident-map", dataset: { i18n: "incident.on_map" },
                     onclick: () => this.onMap(incident) }, t("incident.on_map")));
    this.root.hidden = false;
  }
}
