// The shopwatch operator console: sign in, watch events arrive live, work them, talk through a shop's speaker.
// Everything comes from the authenticated API with the HttpOnly login cookie; text is always set as text
// (camera and shop names come from merchants), never parsed as HTML. Every word of ours comes from the message
// catalogue (i18n.js); times are the station's, 24-hour.

import { language, say, setLanguage, start as startI18n, t, when } from "./i18n.js";
import { Wall } from "./wall.js";
import { Alarm, bindKeys } from "./alarm.js";
import { AlarmTiles } from "./live.js";
import { FleetPane } from "./fleet.js";
import { EventDetail } from "./event-detail.js";
import { CameraMap } from "./map.js";
import { MapCameraPanel } from "./map-panel.js";
import { IncidentView } from "./incident.js";
import { Notices } from "./notify.js";
import { SearchPanel } from "./search.js";
import { StatsView } from "./stats.js";
import { TalkPanel } from "./talk.js";
import { api, cameraLabel, el, errorText, eventTypeMenus, shopName, whenSignedOut } from "./util.js";

const ANALYSTS = new Set(["admin", "operator", "viewer"]);  // may read the case analysis (view_operations)

const $ = (id) => document.getElementById(id);
eventTypeMenus(document);  // before the catalogue names the page's labels
const state = { me: null, events: new Map(), cameras: new Map(), selected: null, feed: null, cursor: null,
                camera: null,  // camera: the event list shows only this camera's events
                asked: 0 };  // the event list's latest load: an earlier one answering late is dropped

const fleet = new FleetPane({ table: $("cameras"), summary: $("fleet-summary"), search: $("camera-search") },
                            { onList: listed });
const wall = new Wall($("wall"), { onPick: pickCamera });
const alarm = new Alarm();
const alarmTiles = new AlarmTiles($("wall"), $("wall-view"));
const notices = new Notices($("notify"), { onOpen: (id) => selectAny(id) });
const map = new CameraMap($("map"), { onPick: openCamera });
const mapPanel = new MapCameraPanel(
  { panel: $("map-camera"), name: $("map-camera-name"), meta: $("map-camera-meta"), live: $("map-live"),
    close: $("map-camera-close"), events: $("map-camera-events") },
  { cameras: () => state.cameras, onClose: () => map.map.invalidateSize(),
    onEvents: (id) => filterCamera(id) });  // the event list narrowed to this camera, every type
const talk = new TalkPanel($("talk"), $("talking"), {
  cameraName: (id) => { const c = state.cameras.get(id); return cameraLabel(c, id); },  // merchants' words
});
const detail = new EventDetail(state, { talk, onMoved: (event) => upsert(event, false) });
const incidentView = new IncidentView($("incident"), {
  cameras: () => state.cameras,
  onEvent: (id) => selectAny(id),
  onMap: (incident) => showView("map").then(() => map.showPath(incident)),
});
const search = new SearchPanel($("search-panel"), map, { cameras: () => state.cameras, open: (id) => selectAny(id) });
const stats = new StatsView($("stats-view"), {
  cameras: () => state.cameras,
  onMap: (id) => showView("map").then(() => { map.reveal(id); openCamera(id); }),
  onEvents: (id, type) => filterCamera(id, type),
});

const typeName = (type) => t(`type.${type}`, {}, type);
const statusName = (status) => t(`status.${status}`, {}, status);

// -- sign in / out ------------------------------------------------------------------------------------

function signedOut() {
  state.me = null;
  if (state.feed) state.feed.close();
  state.feed = null;
  state.events.clear();
  alarm.stop();
  talk.stop();
  showTitle();
  $("event-list").replaceChildren();
  $("app-view").hidden = true;
  $("views").hidden = true;
  $("wall-view").hidden = true;
  $("map-view").hidden = true;
  $("stats-view").hidden = true;
  mapPanel.close();
  wall.show(false);
  $("detail").hidden = true;
  $("logout").hidden = true;
  $("who").textContent = "";
  $("login-view").hidden = false;
}

function showWho() {
  const me = state.me;
  if (!me) return;
  const grids = me.grids ? t("who.grids", { grids: me.grids.join(", ") }) : "";
  $("who").textContent = t("who", { name: me.name, role: t(`role.${me.role}`, {}, me.role), grids });
}

// -- views: the camera wall (landing) and the event work ---------------------------------------------------

async function showView(name) {
  $("wall-view").hidden = name !== "wall";
  $("app-view").hidden = name !== "work";
  $("map-view").hidden = name !== "map";
  $("stats-view").hidden = name !== "stats";
  for (const button of $("views").children) button.classList.toggle("on", button.dataset.view === name);
  wall.show(name === "wall");
  if (name === "map") {
    await map.show();
    search.attach(map.map);  // a click on the map: the centre of a search near it
  }
  else mapPanel.close();
  if (name === "stats") await stats.show();
}

// A pin clicked (or a hot spot's map button): the camera's panel beside the map.
function openCamera(cameraId) {
  if (mapPanel.open(cameraId)) map.map.invalidateSize();
}

for (const button of $("views").children) button.addEventListener("click", () => showView(button.dataset.view));

// A tile clicked: the camera's newest unhandled event if it has one, else the event list.
function pickCamera(cameraId) {
  showView("work");
  const open = [...state.events.values()].filter((e) => e.camera_id === cameraId && e.status === "new");
  if (open.length) select(open[0].id);
}

async function signedIn(me) {
  if (me.role === "tipster") return window.location.replace("phone.html");  // files tips only: the phone's form
  state.me = me;
  showWho();
  $("login-view").hidden = true;
  $("views").hidden = false;
  $("show-stats").hidden = !ANALYSTS.has(me.role);
  showView("wall");  // the landing page
  $("logout").hidden = false;
  await Promise.all([fleet.load(), loadEvents()]);
  follow();
  talk.start();
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  $("login-error").textContent = "";
  notices.ask();  // signing in is a user gesture: the one moment the browser may ask
  try {
    const answer = await api("/api/auth/login", {
      json: { username: form.get("username"), password: form.get("password") },
    });
    e.target.reset();
    await signedIn(answer.principal);
  } catch (err) {
    $("login-error").textContent = errorText(err);
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

// The camera pane lists what the caller sees; without a search, the wall and the map get the same cameras.
function listed(cameras, searched) {
  for (const camera of cameras) state.cameras.set(camera.id, camera);
  if (searched) return;
  wall.setCameras(cameras.map((c) => ({ ...c })));
  map.setCameras(cameras.map((c) => ({ ...c })));
  stats.camerasChanged();
}

// A camera's state from the stream: the wall's tile and the fleet table's row.
function cameraState(message) {
  const change = JSON.parse(message.data);
  wall.update(change.id, change);
  map.update(change.id, change);
  const camera = state.cameras.get(change.id);
  if (camera) camera.health = { ...(camera.health || {}), state: change.state, mode: change.mode };
  fleet.update(change.id, change.state);
  if (mapPanel.cameraId() === change.id) mapPanel.refresh();
}

// -- events ------------------------------------------------------------------------------------------

function eventQuery() {
  const form = new FormData($("filters"));
  const params = new URLSearchParams({ limit: "50" });
  for (const key of ["type", "status"]) if (form.get(key)) params.append(key, form.get(key));
  if (state.camera) params.append("camera", state.camera);
  return params;
}

function matchesFilters(event) {
  const form = new FormData($("filters"));
  return (!form.get("type") || form.get("type") === event.type) && (!form.get("status") || form.get("status") === event.status)
    && (!state.camera || state.camera === event.camera_id);
}

// One camera's events (a hot spot's "its events"), of one type if given; the chip's button shows all again.
function filterCamera(cameraId, type = "") {
  state.camera = cameraId;
  $("filters").elements.type.value = type;
  showCameraFilter();
  showView("work");
  return loadEvents();
}

function showCameraFilter() {
  $("camera-filter").hidden = !state.camera;
  $("camera-filter-name").textContent = state.camera ? cameraLabel(state.cameras.get(state.camera), state.camera) : "";
}

$("camera-filter-clear").addEventListener("click", () => {
  state.camera = null;
  showCameraFilter();
  loadEvents();
});

// The list says what it shows once loaded: `data-shown` is the query (`limit=50&type=...&camera=...`), and
// `data-loading` is set while a newer one is on its way (for people's tools and the tests, like the stats view's).
async function loadEvents(more = false) {
  const params = eventQuery();
  const shown = params.toString();
  if (more && state.cursor) params.set("cursor", state.cursor);
  const asked = ++state.asked;
  const list = $("event-list");
  list.dataset.loading = "true";
  let page;
  try {
    page = await api("/api/events?" + params);
  } finally {
    if (asked === state.asked) delete list.dataset.loading;
  }
  if (asked !== state.asked) return;  // another filter was chosen meanwhile: its answer is the one to show
  if (!more) {
    state.events.clear();
    list.replaceChildren();
  }
  for (const event of page.events) upsert(event, false);
  state.cursor = page.next_cursor;
  $("more").hidden = !page.next_cursor;
  list.dataset.shown = shown;
}

$("filters").addEventListener("change", () => loadEvents());
$("more").addEventListener("click", () => loadEvents(true));

function eventRow(event) {
  const camera = state.cameras.get(event.camera_id);
  const where = cameraLabel(camera, event.camera_id);  // the merchants' words
  return el("li", { class: "event " + event.status, dataset: { event: event.id }, tabindex: "0",
                    onclick: () => select(event.id), onkeydown: (k) => k.key === "Enter" && select(event.id) },
    el("span", { class: "type" }, typeName(event.type)),
    el("span", { class: "where" }, where),
    el("span", { class: "grid" }, t("event.grid", { grid: event.grid })),
    el("time", { datetime: event.start }, when(event.start)),
    el("span", { class: "status" }, statusName(event.status)),
    event.incident_id ? el("span", { class: "linked", title: t("event.linked_title") }, t("event.linked")) : "");
}

function upsert(event, live) {
  const known = state.events.has(event.id);
  wall.alarm(event.camera_id, event.id, event.status === "new");
  map.alarm(event.camera_id, event.id, event.status === "new");
  if (live && !known && event.status === "new") {
    alarm.raise(event.id);
    const camera = state.cameras.get(event.camera_id);
    notices.announce(event.id, t("notify.title", { type: typeName(event.type), shop: shopName(camera, event.camera_id) }),
                     t("notify.body", { place: camera && camera.address ? camera.address : event.grid, time: when(event.start) }));
  }
  else if (event.status !== "new") alarm.settle(event.id);
  state.events.set(event.id, event);
  const row = eventRow(event);
  const old = $("event-list").querySelector(`[data-event="${CSS.escape(event.id)}"]`);
  if (old) old.replaceWith(row);
  else if (!matchesFilters(event)) return;
  else if (live) $("event-list").prepend(row);
  else $("event-list").append(row);
  if (live && !known) row.classList.add("fresh");
  if (state.selected === event.id) {
    detail.show(event);
    if (event.incident_id && (!incidentView.incident || incidentView.incident.id !== event.incident_id)) {
      incidentView.show(event.incident_id);  // linked since it was selected
    }
  }
  showTitle();
}

// The tab's title: the count of unhandled (new) events first, so it shows on a background tab.
function showTitle() {
  const open = [...state.events.values()].filter((e) => e.status === "new").length;
  document.title = (open ? `(${open}) ` : "") + t("app.title");
}

function follow() {
  if (state.feed) state.feed.close();
  const feed = new EventSource("/api/events/stream?cameras=true");  // the cookie goes along; the browser resumes with Last-Event-ID
  state.feed = feed;
  feed.onopen = () => { say($("live"), "feed.live"); $("live").className = "badge on"; };
  feed.onerror = () => { say($("live"), "feed.reconnecting"); $("live").className = "badge"; };
  feed.addEventListener("camera", cameraState);
  for (const kind of ["created", "transition", "linked", "deterrence"]) {
    feed.addEventListener(kind, (message) => upsert(JSON.parse(message.data), true));
  }
}

// -- one event ---------------------------------------------------------------------------------------

async function select(id) {
  state.selected = id;
  alarm.settle(id);
  for (const row of $("event-list").children) row.classList.toggle("selected", row.dataset.event === id);
  $("detail-message").textContent = "";
  const event = state.events.get(id);
  detail.show(event);
  await Promise.all([detail.history(id), incidentView.show(event.incident_id)]);
}

// An event named by an incident's path, which the list may not hold (older, filtered out).
async function selectAny(id) {
  if (!state.events.has(id)) {
    try {
      state.events.set(id, await api(`/api/events/${encodeURIComponent(id)}`));
    } catch (err) {
      $("detail-message").textContent = errorText(err);
      return;
    }
  }
  await showView("work");
  await select(id);
}

// -- start ---------------------------------------------------------------------------------------------

// A language switch re-translates the page and redraws what came from the API, in place.
async function switchLanguage(lang) {
  await setLanguage(lang);
  showWho();
  showTitle();
  wall.retranslate();
  alarmTiles.retranslate();
  detail.retranslate();
  notices.paint();
  incidentView.render();
  stats.retranslate();
  talk.retranslate();
  mapPanel.refresh();
  fleet.retranslate((id) => { const c = state.cameras.get(id); return c && c.health ? c.health.state : "unknown"; });
  for (const row of [...$("event-list").children]) {
    const event = state.events.get(row.dataset.event);
    if (event) row.replaceWith(Object.assign(eventRow(event), { className: row.className }));
  }
  if (state.selected && state.events.has(state.selected)) {
    detail.show(state.events.get(state.selected));
    detail.history(state.selected);
  }
}

bindKeys({
  step(delta) {
    const rows = [...$("event-list").children];
    if (!rows.length) return;
    showView("work");
    const at = rows.findIndex((row) => row.dataset.event === state.selected);
    const next = rows[Math.min(rows.length - 1, Math.max(0, at < 0 ? 0 : at + delta))];
    select(next.dataset.event);
    next.scrollIntoView({ block: "nearest" });
  },
  move(status) {
    const button = document.querySelector(`#moves [data-move="${status}"]`);
    if (button && !$("detail").hidden) button.click();
  },
  talk() {
    // the hold-to-talk button of the open event's shop takes the keyboard: holding Space then talks
    if (!$("detail").hidden && !$("talk").hidden) $("talk-hold").focus();
  },
});

$("lang").addEventListener("change", (e) => switchLanguage(e.target.value));

whenSignedOut(signedOut);

// A phone (a patrol officer's, 390×844) gets the one-column patrol page instead of the command room's.
if (window.matchMedia("(max-width: 600px)").matches) window.location.replace("phone.html");

startI18n().then(() => {
  $("lang").value = language();
  return api("/api/auth/me").then(signedIn, () => signedOut());
});
