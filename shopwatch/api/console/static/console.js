// The shopwatch operator console: sign in, watch events arrive live, work them, talk through a shop's speaker.
// Everything comes from the authenticated API with the HttpOnly login cookie; text is always set as text
// (camera and shop names come from merchants), never parsed as HTML.

const NEXT = {  // the workflow table of shopwatch/incidents/workflow.py (the server decides; 409 says why)
  new: ["acknowledged", "false_positive"],
  acknowledged: ["dispatched", "resolved", "false_positive"],
  dispatched: ["resolved", "false_positive"],
  resolved: [],
  false_positive: [],
};
const LABEL = {
  acknowledged: "Acknowledge", dispatched: "Dispatch", resolved: "Resolve", false_positive: "False positive",
};
const WORKERS = new Set(["admin", "operator"]);  // may move events past "acknowledged" and talk

const $ = (id) => document.getElementById(id);
const state = { me: null, events: new Map(), cameras: new Map(), selected: null, feed: null, cursor: null };

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && path !== "/api/auth/login") {
    signedOut();
    throw new ApiError(401, "signed out");
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && body.detail;
    throw new ApiError(response.status, typeof detail === "string" ? detail : `HTTP ${response.status}`);
  }
  return body;
}

function when(iso) {
  return new Date(iso).toLocaleString();
}

// -- sign in / out ------------------------------------------------------------------------------------

function signedOut() {
  state.me = null;
  if (state.feed) state.feed.close();
  state.feed = null;
  state.events.clear();
  $("event-list").replaceChildren();
  $("app-view").hidden = true;
  $("detail").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("login-view").hidden = false;
}

async function signedIn(me) {
  state.me = me;
  $("who").textContent = `${me.name} (${me.role}${me.grids ? ", grids " + me.grids.join(", ") : ""})`;
  $("login-view").hidden = true;
  $("app-view").hidden = false;
  $("logout").hidden = false;
  await Promise.all([loadCameras(), loadEvents()]);
  follow();
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  $("login-error").textContent = "";
  try {
    const answer = await api("/api/auth/login", {
      json: { username: form.get("username"), password: form.get("password") },
    });
    e.target.reset();
    await signedIn(answer.principal);
  } catch (err) {
    $("login-error").textContent = err.status === 429 ? "Too many attempts: wait a moment." : err.message;
  }
});

$("logout").addEventListener("click", async () => {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } finally {
    signedOut();
  }
});

// -- cameras -----------------------------------------------------------------------------------------

async function loadCameras() {
  const q = $("camera-search").value.trim();
  const list = await api("/api/cameras" + (q ? "?q=" + encodeURIComponent(q) : ""));
  const counts = Object.entries(list.summary.by_state).filter(([, n]) => n > 0).map(([s, n]) => `${n} ${s.replace("_", " ")}`);
  $("fleet-summary").textContent = `${list.summary.total} cameras: ${counts.join(", ") || "no health yet"}`;
  const rows = list.cameras.map((camera) => {
    state.cameras.set(camera.id, camera);
    const health = camera.health ? camera.health.state : "unknown";
    return el("tr", { dataset: { camera: camera.id } },
      el("td", {}, camera.name), el("td", {}, camera.merchant.name), el("td", {}, camera.grid),
      el("td", { class: "state " + health }, health.replace("_", " ")));
  });
  $("cameras").tBodies[0].replaceChildren(...rows);
}

let searchTimer = null;
$("camera-search").addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(loadCameras, 250);
});

// -- events ------------------------------------------------------------------------------------------

function eventQuery() {
  const form = new FormData($("filters"));
  const params = new URLSearchParams({ limit: "50" });
  for (const key of ["type", "status"]) if (form.get(key)) params.append(key, form.get(key));
  return params;
}

function matchesFilters(event) {
  const form = new FormData($("filters"));
  return (!form.get("type") || form.get("type") === event.type) && (!form.get("status") || form.get("status") === event.status);
}

async function loadEvents(more = false) {
  const params = eventQuery();
  if (more && state.cursor) params.set("cursor", state.cursor);
  const page = await api("/api/events?" + params);
  if (!more) {
    state.events.clear();
    $("event-list").replaceChildren();
  }
  for (const event of page.events) upsert(event, false);
  state.cursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
}

$("filters").addEventListener("change", () => loadEvents());
$("more").addEventListener("click", () => loadEvents(true));

function eventRow(event) {
  const camera = state.cameras.get(event.camera_id);
  const where = camera ? `${camera.merchant.name} · ${camera.name}` : event.camera_id;
  return el("li", { class: "event " + event.status, dataset: { event: event.id }, tabindex: "0",
                    onclick: () => select(event.id), onkeydown: (k) => k.key === "Enter" && select(event.id) },
    el("span", { class: "type" }, event.type.replace("_", " ")),
    el("span", { class: "where" }, where),
    el("span", { class: "grid" }, "grid " + event.grid),
    el("time", { datetime: event.start }, when(event.start)),
    el("span", { class: "status" }, event.status.replace("_", " ")),
    event.incident_id ? el("span", { class: "linked", title: "linked across cameras" }, "linked") : "");
}

function upsert(event, live) {
  const known = state.events.has(event.id);
  state.events.set(event.id, event);
  const row = eventRow(event);
  const old = $("event-list").querySelector(`[data-event="${CSS.escape(event.id)}"]`);
  if (old) old.replaceWith(row);
  else if (!matchesFilters(event)) return;
  else if (live) $("event-list").prepend(row);
  else $("event-list").append(row);
  if (live && !known) row.classList.add("fresh");
  if (state.selected === event.id) showDetail(event);
}

function follow() {
  if (state.feed) state.feed.close();
  const feed = new EventSource("/api/events/stream");  // the cookie goes along; the browser resumes with Last-Event-ID
  state.feed = feed;
  feed.onopen = () => { $("live").textContent = "live"; $("live").className = "badge on"; };
  feed.onerror = () => { $("live").textContent = "reconnecting"; $("live").className = "badge"; };
  for (const kind of ["created", "transition", "linked", "deterrence"]) {
    feed.addEventListener(kind, (message) => upsert(JSON.parse(message.data), true));
  }
}

// -- one event ---------------------------------------------------------------------------------------

async function select(id) {
  state.selected = id;
  for (const row of $("event-list").children) row.classList.toggle("selected", row.dataset.event === id);
  $("detail-message").textContent = "";
  showDetail(state.events.get(id));
  await Promise.all([loadHistory(id), loadClips()]);
}

function showDetail(event) {
  const camera = state.cameras.get(event.camera_id);
  stopLive();
  $("detail").hidden = false;
  $("detail-title").textContent = `${event.type.replace("_", " ")} at ${camera ? camera.merchant.name : event.camera_id}`;
  const meta = [`camera ${event.camera_id}`, `grid ${event.grid}`, `zone ${event.zone}`, when(event.start),
                `confidence ${event.confidence.toFixed(2)}`, `status ${event.status.replace("_", " ")}`];
  if (camera && camera.address) meta.splice(1, 0, camera.address);
  if (event.teams.length) meta.push("teams " + event.teams.join(", "));
  if (event.deterrence) meta.push("deterrence " + event.deterrence.outcome);
  $("detail-meta").textContent = meta.join(" · ");
  $("pictures").replaceChildren(...Object.entries(event.snapshots).map(([name, url]) =>
    el("figure", {}, el("img", { src: url, alt: name + " picture", loading: "lazy" }), el("figcaption", {}, name))));
  $("clip").hidden = !event.clip;
  if (event.clip) $("clip").href = event.clip;
  const moves = NEXT[event.status].filter((s) => s === "acknowledged" || WORKERS.has(state.me.role));
  $("moves").replaceChildren(...moves.map((status) =>
    el("button", { type: "button", dataset: { move: status }, onclick: () => move(event.id, status) }, LABEL[status])));
  const camTalks = camera && camera.talkback.capable && camera.talkback.allowed;
  $("talk").hidden = !(WORKERS.has(state.me.role) && camTalks);
}

// Live view: an <img> on the camera's MJPEG stream (bounded by the server; clearing src closes it).
const LIVE_SECONDS = 300;

function stopLive() {
  $("live-view").removeAttribute("src");
  $("live-view").hidden = true;
  $("live-view-toggle").textContent = "Watch live";
}

$("live-view-toggle").addEventListener("click", () => {
  const event = state.events.get(state.selected);
  if (!event) return;
  if (!$("live-view").hidden) return stopLive();
  $("live-view").src = `/api/cameras/${encodeURIComponent(event.camera_id)}/live.mjpeg?seconds=${LIVE_SECONDS}`;
  $("live-view").hidden = false;
  $("live-view-toggle").textContent = "Stop live";
});

$("live-view").addEventListener("error", () => {
  stopLive();
  $("detail-message").textContent = "No live picture from this camera now.";
});

async function loadHistory(id) {
  const steps = await api(`/api/events/${encodeURIComponent(id)}/transitions`);
  $("history").replaceChildren(...steps.map((t) =>
    el("li", {}, `${when(t.at)}: ${t.from_status} → ${t.to_status} by ${t.user}${t.note ? " — " + t.note : ""}`)));
}

async function move(id, status) {
  try {
    const event = await api(`/api/events/${encodeURIComponent(id)}/transitions`, { json: { status, note: $("note").value } });
    $("note").value = "";
    upsert(event, false);
    $("detail-message").textContent = `Now ${event.status.replace("_", " ")}.`;
    await loadHistory(id);
  } catch (err) {
    $("detail-message").textContent = err.message;
  }
}

async function loadClips() {
  if ($("talk").hidden || $("talk-clip").options.length) return;
  const clips = await api("/api/talkback/clips");
  $("talk-clip").replaceChildren(...clips.map((c) => el("option", { value: c.id }, `${c.name} (${c.duration_s.toFixed(1)} s)`)));
}

$("talk-play").addEventListener("click", async () => {
  const event = state.events.get(state.selected);
  const clip = $("talk-clip").value;
  if (!event || !clip) return;
  try {
    const session = await api(`/api/cameras/${encodeURIComponent(event.camera_id)}/talkback`, { json: { clip } });
    $("detail-message").textContent = `Speaker: ${session.state}.`;
  } catch (err) {
    $("detail-message").textContent = err.message;  // refused by policy, busy (who holds it), unknown clip
  }
});

// -- start ---------------------------------------------------------------------------------------------

api("/api/auth/me").then(signedIn, () => signedOut());
