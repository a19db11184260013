// The map's camera panel: a pin clicked shows the camera (the merchant's name, address, grid, health) and its
// live picture over the page's one live socket; its events button narrows the event list to the camera.

import { t } from "./i18n.js";
import { LivePlayer } from "./live.js";
import { cameraLabel } from "./util.js";

export class MapCameraPanel {
  // nodes: { panel, name, meta, live, close, events }; cameras(): the Map of cameras the caller sees;
  // onClose(): after the panel closed by its button; onEvents(cameraId): its events button.
  constructor(nodes, { cameras, onClose, onEvents }) {
    this.nodes = nodes;
    this.cameras = cameras;
    this.player = null;
    nodes.close.addEventListener("click", () => { this.close(); onClose(); });
    nodes.events.addEventListener("click", () => {
      const cameraId = this.cameraId();
      if (cameraId) onEvents(cameraId);
    });
  }

  cameraId() {
    return this.nodes.panel.hidden ? null : this.nodes.panel.dataset.camera || null;
  }

  open(cameraId) {
    if (!this.cameras().get(cameraId)) return false;
    this.nodes.panel.dataset.camera = cameraId;
    this.nodes.panel.hidden = false;
    this.refresh();
    if (this.player) this.player.stop();
    this.player = new LivePlayer(cameraId, this.nodes.live).start();  // MSE over the page's one live socket
    return true;
  }

  // Redraws the open camera's lines (a health change, a language switch); nothing when closed.
  refresh() {
    const camera = this.cameras().get(this.nodes.panel.dataset.camera);
    if (!camera || this.nodes.panel.hidden) return;
    const health = camera.health ? camera.health.state : "unknown";
    this.nodes.name.textContent = cameraLabel(camera, camera.id);  // the merchants' words
    this.nodes.meta.textContent = [camera.address, t("event.grid", { grid: camera.grid }),
                                   t(`health.${health}`, {}, health)].filter(Boolean).join(" · ");
  }

  close() {
    if (this.player) this.player.stop();  // leaves the camera on the live socket
    this.player = null;
    this.nodes.panel.hidden = true;
    delete this.nodes.panel.dataset.camera;
  }
}
