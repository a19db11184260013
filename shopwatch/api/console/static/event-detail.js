// One event, opened in the work view: its title and facts, the evidence pictures and clip, the workflow's moves
// (with "ignore this spot" for a card posting judged false), its history, and the camera's live picture.

import { pictureName, say, t, when } from "./i18n.js";
import { LivePlayer } from "./live.js";
import { api, el, errorText, shopName } from "./util.js";

const NEXT = {  // the workflow table of shopwatch/incidents/workflow.py (the server decides; 409 says why)
  new: ["acknowledged", "false_positive"],
  acknowledged: ["dispatched", "resolved", "false_positive"],
  dispatched: ["resolved", "false_positive"],
  resolved: [],
  false_positive: [],
};
const WORKERS = new Set(["admin", "operator"]);  // may move events past "acknowledged" and talk

const typeName = (type) => t(`type.${type}`, {}, type);
const statusName = (status) => t(`status.${status}`, {}, status);

export class EventDetail {
  // state: the console's { me, cameras, events, selected }; talk: the speaker panel; onMoved(event): the
  // event as the server answered a move.
  constructor(state, { talk, onMoved }) {
    this.state = state;
    this.talk = talk;
    this.onMoved = onMoved;
    this.player = null;  // live view: the camera's H.264 through MSE over the page's one live socket
    this.$ = (id) => document.getElementById(id);
    this.$("live-view-toggle").addEventListener("click", () => this.toggleLive());
  }

  show(event) {
    const $ = this.$;
    const camera = this.state.cameras.get(event.camera_id);
    this.stopLive();
    $("detail").hidden = false;
    $("detail-title").textContent = t("detail.title", {
      type: typeName(event.type), shop: shopName(camera, event.camera_id) });
    const meta = [t("meta.camera", { id: event.camera_id }), t("event.grid", { grid: event.grid }),
                  t("meta.zone", { zone: event.zone }), when(event.start),
                  t("meta.confidence", { value: event.confidence.toFixed(2) }),
                  t("meta.status", { status: statusName(event.status) })];
    if (camera && camera.address) meta.splice(1, 0, camera.address);
    if (event.teams.length) meta.push(t("meta.teams", { teams: event.teams.join(", ") }));
    if (event.deterrence) {
      const outcome = event.deterrence.outcome;
      meta.push(t("meta.deterrence", { outcome: t(`talk.outcome.${outcome}`, {}, outcome) }));
    }
    $("detail-meta").textContent = meta.join(" · ");
    $("pictures").classList.toggle("evidence", event.type === "card_posting");  // crops large enough to judge
    $("pictures").replaceChildren(...Object.entries(event.snapshots).map(([name, url]) => {
      const label = pictureName(name);
      return el("figure", {}, el("img", { src: url, alt: t("picture.alt", { name: label }), loading: "lazy" }),
                el("figcaption", {}, label));
    }));
    $("clip").hidden = !event.clip;
    if (event.clip) $("clip").href = event.clip;
    const role = this.state.me.role;
    const moves = NEXT[event.status].filter((s) => s === "acknowledged" || WORKERS.has(role));
    const buttons = moves.map((status) =>
      el("button", { type: "button", dataset: { move: status }, onclick: () => this.move(event.id, status) },
         t(`move.${status}`)));
    if (moves.includes("false_positive") && (event.detail.patches || []).length) {  // teach it: ignore this spot
      buttons.push(el("button", { type: "button", dataset: { move: "ignore_spot" },
                                  onclick: () => this.move(event.id, "false_positive", true) },
                      t("move.ignore_spot")));
    }
    $("moves").replaceChildren(...buttons);
    const camTalks = camera && camera.talkback.capable && camera.talkback.allowed;
    $("talk").hidden = !(WORKERS.has(role) && camTalks);
    this.talk.show($("talk").hidden ? null : event.camera_id);
  }

  async history(id) {
    const steps = await api(`/api/events/${encodeURIComponent(id)}/transitions`);
    this.$("history").replaceChildren(...steps.map((step) =>
      el("li", {}, t("history.step", { at: when(step.at), from: statusName(step.from_status),
                                         to: statusName(step.to_status), user: step.user,
                                         note: step.note ? t("history.note", { note: step.note }) : "" }))));
  }

  async move(id, status, ignoreSpot = false) {
    const $ = this.$;
    try {
      const json = { status, note: $("note").value, ...(ignoreSpot ? { ignore_spot: true } : {}) };
      const event = await api(`/api/events/${encodeURIComponent(id)}/transitions`, { json });
      $("note").value = "";
      this.onMoved(event);
      $("detail-message").textContent = t("detail.now", { status: statusName(event.status) });
      await this.history(id);
    } catch (err) {
      $("detail-message").textContent = errorText(err);
    }
  }

  toggleLive() {
    const event = this.state.events.get(this.state.selected);
    if (!event) return;
    if (this.player) return this.stopLive();
    this.$("live-view").hidden = false;
    this.player = new LivePlayer(event.camera_id, this.$("live-view")).start();
    say(this.$("live-view-toggle"), "live.stop");
  }

  stopLive() {
    if (this.player) this.player.stop();
    this.player = null;
    this.$("live-view").hidden = true;
    say(this.$("live-view-toggle"), "live.watch");
  }

  retranslate() {
    if (this.player) this.player.retranslate();
  }
}
