// Live pictures with Media Source Extensions: the camera's own H.264 as fragmented MP4 (remuxed by the server,
// never re-encoded) over the page's one LiveLink. A player shows why there is no picture (offline and why,
// reconnecting), and for an H.265 camera (Chromium plays no HEVC through MSE) says so and shows the still
// picture every 2 s instead. The wall's tiles with an event in progress turn live while it lasts.

import { t } from "./i18n.js";
import { KIND_INIT, LiveLink } from "./mse.js";

export const link = new LiveLink();
const STILL_MS = 2000;
const BEHIND_S = 1.5;  // further than this from the newest picture: jump to it (a live view, not a recording)
const KEEP_S = 20;     // buffered history kept in the browser

export class LivePlayer {
  // host: the element the <video> goes into (a wall tile, the event's live box).
  constructor(cameraId, host) {
    this.cameraId = cameraId;
    this.host = host;
    this.video = Object.assign(document.createElement("video"), { muted: true, autoplay: true, playsInline: true });
    this.video.className = "live-video";
    this.label = Object.assign(document.createElement("span"), { className: "live-state" });
    this.queue = [];
    this.source = null;
    this.buffer = null;
    this.still = null;
    this.labelKey = null;
  }

  start() {
    this.host.dataset.live = "connecting";
    this.host.append(this.video, this.label);
    this.say("live.connecting");
    link.watch(this.cameraId, this);
    return this;
  }

  stop() {
    link.unwatch(this.cameraId);
    clearInterval(this.still);
    if (this.video.src) URL.revokeObjectURL(this.video.src);
    this.video.remove();
    this.label.remove();
    this.host.querySelector(".live-still")?.remove();
    delete this.host.dataset.live;
  }

  say(key, vars = {}) {
    this.labelKey = [key, vars];
    this.label.textContent = key ? t(key, vars) : "";
  }

  retranslate() {
    if (this.labelKey) this.say(...this.labelKey);
  }

  onMessage(message) {
    if (message.type === "live") this.reset(message.mime);
    else if (message.type === "state") {
      if (message.state === "live") {
        this.host.dataset.live = "playing";
        this.say(null);
      } else if (message.state !== "online") {
        this.host.dataset.live = "down";
        const state = t(`health.${message.state}`, {}, message.state);
        this.say(message.why ? "live.down_why" : "live.down", { state, why: message.why || "" });
      }
    } else if (message.type === "unsupported") this.fallback(message.codec);
    else if (message.type === "error") {
      this.host.dataset.live = "refused";
      this.say("live.refused", { detail: message.detail });
    }
  }

  reset(mime) {
    if (!window.MediaSource || !MediaSource.isTypeSupported(mime)) return this.fallback(mime);
    if (this.video.src) URL.revokeObjectURL(this.video.src);
    this.queue = [];
    this.buffer = null;
    const source = new MediaSource();
    this.source = source;
    source.addEventListener("sourceopen", () => {
      if (this.source !== source) return;
      this.buffer = source.addSourceBuffer(mime);
      this.buffer.addEventListener("updateend", () => this.pump());
      this.pump();
    }, { once: true });
    this.video.src = URL.createObjectURL(source);
  }

  onSegment(kind, bytes) {
    if (kind === KIND_INIT) this.queue = [];
    this.queue.push(bytes.slice());
    this.pump();
  }

  pump() {
    const buffer = this.buffer;
    if (!buffer || buffer.updating) return;
    const ranges = this.video.buffered;
    if (ranges.length) {
      const start = ranges.start(0), end = ranges.end(ranges.length - 1);
      if (end - start > KEEP_S + 5 && this.video.currentTime > start + KEEP_S) {
        buffer.remove(start, end - KEEP_S);  // updateend pumps again
        return;
      }
      const last = ranges.start(ranges.length - 1);
      if (this.video.currentTime < last || end - this.video.currentTime > BEHIND_S) {
        this.video.currentTime = Math.max(last, end - 0.2);
      }
    }
    if (this.video.paused) this.video.play().catch(() => {});
    const next = this.queue.shift();
    if (!next) return;
    try {
      buffer.appendBuffer(next);
    } catch {
      this.queue = [];  // the buffer is closed (source reset) or full: the next init starts again
    }
  }

  // No MSE for this codec (H.265): the still picture instead, every 2 s, and the tile says why.
  fallback(codec) {
    this.host.dataset.live = "unsupported";
    this.say("live.unsupported", { codec: String(codec).toUpperCase() });
    this.video.remove();
    if (this.still) return;
    const img = document.createElement("img");
    img.className = "live-still";
    img.alt = t("live.alt");
    this.host.prepend(img);
    const load = () => { img.src = `/api/cameras/${encodeURIComponent(this.cameraId)}/still.jpg?t=${Date.now()}`; };
    load();
    this.still = setInterval(load, STILL_MS);
  }
}

// Tiles of the wall with an event in progress (data-alarm="on") play live while it lasts and the wall is shown.
export class AlarmTiles {
  constructor(wallRoot, wallView) {
    this.root = wallRoot;
    this.view = wallView;
    this.players = new Map();  // tile -> LivePlayer
    const observer = new MutationObserver(() => this.sync());
    observer.observe(wallRoot, { attributes: true, attributeFilter: ["data-alarm"], subtree: true, childList: true });
    observer.observe(wallView, { attributes: true, attributeFilter: ["hidden"] });
  }

  sync() {
    for (const [tile, player] of this.players) {
      if (!tile.isConnected || tile.dataset.alarm !== "on" || this.view.hidden) {
        player.stop();
        this.players.delete(tile);
      }
    }
    if (this.view.hidden) return;
    for (const tile of this.root.querySelectorAll('.tile[data-alarm="on"]')) {
      if (!this.players.has(tile)) this.players.set(tile, new LivePlayer(tile.dataset.camera, tile).start());
    }
  }

  retranslate() {
    for (const player of this.players.values()) player.retranslate();
  }
}
