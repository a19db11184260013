// One WebSocket per page for every live picture on it (WS /api/live, docs/CONSOLE.md): Chromium opens sockets
// to one host one after another (~50 ms each), so tiles are multiplexed over this one. Binary messages are
// [kind][id length][camera id][fMP4 segment]; text messages are JSON for one camera. Reconnects by itself
// (0.5 s doubling to 8 s) and watches again what it watched.

export const KIND_INIT = 0;
export const KIND_MEDIA = 1;
const decoder = new TextDecoder();

export class LiveLink {
  constructor(path = "/api/live") {
    this.path = path;
    this.ws = null;
    this.subs = new Map();  // camera id -> {onMessage(json), onSegment(kind, bytes)}
    this.retryMs = 500;
    this.timer = null;
  }

  watch(cameraId, sub) {
    this.subs.set(cameraId, sub);
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.send({ watch: cameraId });
    else this.open();
  }

  unwatch(cameraId) {
    if (this.subs.delete(cameraId)) this.send({ unwatch: cameraId });
  }

  send(command) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(command));
  }

  open() {
    if (this.timer || (this.ws && this.ws.readyState <= WebSocket.OPEN)) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}${this.path}`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => {
      this.retryMs = 500;
      for (const id of this.subs.keys()) ws.send(JSON.stringify({ watch: id }));
    };
    ws.onmessage = (message) => this.receive(message.data);
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const [id, sub] of this.subs) sub.onMessage({ type: "state", camera: id, state: "reconnecting", why: null });
      if (!this.subs.size) return;
      this.timer = setTimeout(() => { this.timer = null; this.open(); }, this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 8000);
    };
    this.ws = ws;
  }

  receive(data) {
    if (typeof data === "string") {
      const message = JSON.parse(data);
      const sub = this.subs.get(message.camera);
      if (sub) sub.onMessage(message);
      return;
    }
    const bytes = new Uint8Array(data);
    const size = bytes[1];
    const sub = this.subs.get(decoder.decode(bytes.subarray(2, 2 + size)));
    if (sub) sub.onSegment(bytes[0], bytes.subarray(2 + size));
  }
}
