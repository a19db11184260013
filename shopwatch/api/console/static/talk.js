// Talking through a shop's speaker from the console: a recorded clip, typed text read aloud (Mandarin by
// default), or the operator's own voice while the button is held (getUserMedia -> AudioWorklet -> PCM16 at
// 8 kHz in 20 ms frames -> the live talk WebSocket, docs/TALKBACK.md). The microphone opens only after the
// server took the speaker for us: a talk refused by policy (no consent, quiet hours, someone else talking)
// never opens it. Refusals are said in the operator's language from the error's reason codes. Who is talking
// where is polled every few seconds (GET /api/talkback/sessions) and shown to every signed-in user.

import { t } from "./i18n.js";
import { api, el } from "./util.js";

const RATE = 8000;  // what the speaker gets; a browser that cannot run an 8 kHz context sends its own rate
const FRAME_S = 0.02;
const POLL_MS = 3000;

// Reason codes of the API's refusals (shopwatch/talkback/policy.py, arbiter.py) -> the operator's sentence.
const REFUSALS = {
  no_speaker: () => t("talk.refused.no_speaker"),
  no_consent: () => t("talk.refused.no_consent"),
  quiet_hours: () => t("talk.refused.quiet_hours"),
  busy: () => t("talk.refused.busy"),
  busy_live: () => t("talk.refused.busy_live"),
};

// A refusal as sentences: one per reason the server gave, else by status.
export function refusalText(status, reasons, detail) {
  const known = (reasons || []).filter((r) => REFUSALS[r]).map((r) => REFUSALS[r]());
  if (known.length) return known.join(" ");
  if (status === 404) return t("talk.refused.not_found");
  if (status === 429) return t("error.429");
  return t("talk.refused.other", { status: status || "-", detail: detail || "" });
}

const outcomeName = (state) => t(`talk.outcome.${state}`, {}, state);

export class TalkPanel {
  // root: the panel's element (#talk); board: where everyone sees who is talking (#talking).
  constructor(root, board, { cameraName }) {
    this.root = root;
    this.board = board;
    this.cameraName = cameraName;
    this.cameraId = null;
    this.live = null;  // the hold-to-talk in progress
    this.active = [];
    this.timer = null;
    this.clipSelect = root.querySelector("#talk-clip");
    this.text = el("input", { id: "talk-text", maxlength: "500" });
    this.voice = el("select", { id: "talk-voice" }, el("option", { value: "cmn" }), el("option", { value: "en" }));
    this.sayButton = el("button", { id: "talk-say", type: "button", onclick: () => this.say() });
    this.hold = el("button", { id: "talk-hold", type: "button", class: "hold" });
    this.status = el("p", { id: "talk-status", role: "status" });
    this.textLabel = el("span");
    root.append(el("label", {}, this.textLabel, " ", this.text), this.voice, this.sayButton, this.hold, this.status);
    root.querySelector("#talk-play").addEventListener("click", () => this.playClip());
    this.hold.addEventListener("pointerdown", (e) => { e.preventDefault(); this.press(); });
    for (const kind of ["pointerup", "pointerleave", "pointercancel"]) this.hold.addEventListener(kind, () => this.release());
    this.hold.addEventListener("keydown", (e) => { if (e.key === " " && !e.repeat) { e.preventDefault(); this.press(); } });
    this.hold.addEventListener("keyup", (e) => { if (e.key === " ") this.release(); });
    this.retranslate();
  }

  retranslate() {
    this.textLabel.textContent = t("talk.text");
    this.text.placeholder = t("talk.text_placeholder");
    this.voice.options[0].textContent = t("talk.voice.cmn");
    this.voice.options[1].textContent = t("talk.voice.en");
    this.sayButton.textContent = t("talk.say");
    this.hold.textContent = this.live ? t("talk.release") : t("talk.hold");
    this.showBoard();
  }

  // The camera the panel talks to (null: none; the panel is hidden by the caller).
  async show(cameraId) {
    if (cameraId !== this.cameraId) this.setStatus("");
    this.cameraId = cameraId;
    this.retranslate();
    if (!cameraId || this.clipSelect.options.length) return;
    let clips;
    try {
      clips = await api("/api/talkback/clips");
    } catch (err) {
      return this.setStatus(refusalText(err.status, err.reasons, err.message));
    }
    this.clipSelect.replaceChildren(...clips.map((c) => el("option", { value: c.id },
      t("talk.clip_option", { name: c.name, seconds: c.duration_s.toFixed(1) }))));
  }

  setStatus(text) {
    this.status.textContent = text;
  }

  // -- clip and text: one request, the session's state as the answer ----------------------------------------

  async playClip() {
    const clip = this.clipSelect.value;
    if (this.cameraId && clip) await this.post({ clip });
  }

  async say() {
    const text = this.text.value.trim();
    if (!this.cameraId || !text) return;
    if (await this.post({ text, voice: this.voice.value })) this.text.value = "";
  }

  async post(body) {
    try {
      const session = await api(`/api/cameras/${encodeURIComponent(this.cameraId)}/talkback`, { json: body });
      this.setStatus(t("talk.state", { state: outcomeName(session.state) }));
      this.poll();
      return true;
    } catch (err) {
      this.setStatus(refusalText(err.status, err.reasons, err.message));
      return false;
    }
  }

  // -- hold to talk --------------------------------------------------------------------------------------------

  press() {
    if (this.live || !this.cameraId) return;
    const context = audioContext();  // made in the gesture, so the browser lets it run
    const rate = Math.round(context.sampleRate);
    const live = { context, rate, socket: null, stream: null, released: false, open: false };
    this.live = live;
    this.hold.classList.add("on");
    this.hold.textContent = t("talk.release");
    this.setStatus(t("talk.connecting"));
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const path = `/api/cameras/${encodeURIComponent(this.cameraId)}/talkback/live?format=pcm16&rate=${rate}`;
    const socket = new WebSocket(`${scheme}://${location.host}${path}`);
    socket.binaryType = "arraybuffer";
    live.socket = socket;
    socket.addEventListener("message", (message) => this.heard(live, JSON.parse(message.data)));
    socket.addEventListener("close", () => this.finished(live));
  }

  async heard(live, message) {
    if (message.type === "session") {  // the speaker is ours: only now the microphone
      if (live.released) return live.socket.send(JSON.stringify({ type: "end" }));
      try {
        await openMicrophone(live);
      } catch (err) {
        this.setStatus(t("talk.no_microphone", { detail: err.message || String(err) }));
        return live.socket.send(JSON.stringify({ type: "end" }));
      }
      if (live.released) return this.release();
      this.setStatus(t("talk.live"));
      this.poll();
    } else if (message.type === "error") {
      live.refused = true;
      this.setStatus(refusalText(message.status, message.reasons, message.detail));
    } else if (message.type === "ended") {
      this.setStatus(t("talk.state", { state: outcomeName(message.session.state) }));
    }
  }

  release() {
    const live = this.live;
    if (!live || live.released) return;
    live.released = true;
    closeMicrophone(live);
    if (live.socket.readyState === WebSocket.OPEN && live.open) live.socket.send(JSON.stringify({ type: "end" }));
    this.hold.classList.remove("on");
    this.hold.textContent = t("talk.hold");
  }

  finished(live) {
    closeMicrophone(live);
    live.context.close().catch(() => {});
    if (this.live === live) {
      this.live = null;
      this.hold.classList.remove("on");
      this.hold.textContent = t("talk.hold");
    }
    this.poll();
  }

  // -- who is talking where (everyone sees it) ----------------------------------------------------------------

  start() {
    this.stop();
    this.retranslate();  // built before the catalogue was loaded
    this.poll();
    this.timer = setInterval(() => this.poll(), POLL_MS);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    this.active = [];
    this.showBoard();
  }

  async poll() {
    try {
      this.active = (await api("/api/talkback/sessions")).active.filter((s) => s.state === "active");
    } catch {
      this.active = [];  // no talkback service, or signed out: nothing to show
    }
    this.showBoard();
  }

  showBoard() {
    const lines = this.active.map((s) => t(s.source === "live" ? "talk.board.live" : "talk.board.clip",
                                           { camera: this.cameraName(s.camera_id), user: s.user }));
    this.board.hidden = !lines.length;
    this.board.textContent = lines.length ? t("talk.board", { list: lines.join(t("list.separator")) }) : "";
  }
}

function audioContext() {
  try {
    return new AudioContext({ sampleRate: RATE, latencyHint: "interactive" });
  } catch {
    return new AudioContext({ latencyHint: "interactive" });  // the server resamples any rate 8-48 kHz
  }
}

async function openMicrophone(live) {
  if (!navigator.mediaDevices) throw new Error(t("talk.insecure"));  // plain HTTP on the LAN: no microphone
  const stream = await navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: true },
  });
  live.stream = stream;
  if (live.released) return;
  await live.context.audioWorklet.addModule("talk-worklet.js");
  const source = live.context.createMediaStreamSource(stream);
  const frames = new AudioWorkletNode(live.context, "pcm16-frames", {
    processorOptions: { frame: Math.round(live.rate * FRAME_S) } });
  frames.port.onmessage = (message) => {
    if (live.socket.readyState === WebSocket.OPEN && !live.released) live.socket.send(message.data);
  };
  const mute = live.context.createGain();
  mute.gain.value = 0;  // the graph runs only when it reaches the destination; nothing is heard locally
  source.connect(frames).connect(mute).connect(live.context.destination);
  live.nodes = [source, frames, mute];
  live.open = true;
  await live.context.resume();
}

function closeMicrophone(live) {
  for (const node of live.nodes || []) node.disconnect();
  live.nodes = [];
  if (live.stream) for (const track of live.stream.getTracks()) track.stop();
  live.stream = null;
}
