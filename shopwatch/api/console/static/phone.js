// The patrol phone's page (390×844 and up): the events of my grids (the API scopes every answer to the signed-in
// user's grids), newest first and live over the event stream; an event's pictures the width of the screen, its
// place (the address and a map snippet with the camera's pin on the station's plan), and acknowledge with a note.
// The same message catalogue, login cookie and API as the command-room console (console.js). "上报线索" files a tip
// (tip-form.js); a tipster's login (who sees no camera) lands on that form alone.

import { language, pictureName, setLanguage, start as startI18n, t, when } from "./i18n.js";
import { openTipForm } from "./tip-form.js";
import { api, cameraLabel, el, errorText, shopName, whenSignedOut } from "./util.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, events: new Map(), cameras: new Map(), selected: null, feed: null, background: null,
                place: null };

const typeName = (type) => t(`type.${type}`, {}, type);
const statusName = (status) => t(`status.${status}`, {}, status);

function show(view) {
  for (const name of ["login-view", "list-view", "detail-view", "tip-view"]) $(name).hidden = name !== view;
  $("logout").hidden = view === "login-view";
}

function signedOut() {
  state.me = null;
  if (state.feed) state.feed.close();
  state.feed = null;
  state.events.clear();
  $("event-list").replaceChildren();
  show("login-view");
}

function showWho() {
  const me = state.me;
  if (!me) return;
  const grids = me.grids ? t("who.grids", { grids: me.grids.join(", ") }) : "";
  $("who").textContent = t("who", { name: me.name, role: t(`role.${me.role}`, {}, me.role), grids });
}

async function signedIn(me) {
  state.me = me;
  if (me.role === "tipster") {  // files tips and sees its own; no camera, no event
    await showTipForm();
    return;
  }
  showWho();
  show("list-view");
  const [cameras, page] = await Promise.all([api("/api/cameras"), api("/api/events?limit=50")]);
  for (const camera of cameras.cameras) state.cameras.set(camera.id, camera);
  state.events.clear();
  $("event-list").replaceChildren();
  for (const event of page.events) upsert(event, false);
  showEmpty();
  follow();
}

$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  $("login-error").textContent = "";
  try {
    const answer = await api("/api/auth/login", { json: { username: form.get("username"), password: form.get("password") } });
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

// -- my grids' events ------------------------------------------------------------------------------------------

function where(event) {
  const camera = state.cameras.get(event.camera_id);
  return cameraLabel(camera, event.camera_id);  // the merchants' words
}

function row(event) {
  return el("li", { class: "event " + event.status, dataset: { event: event.id }, tabindex: "0",
                    onclick: () => open(event.id), onkeydown: (k) => k.key === "Enter" && open(event.id) },
    el("span", { class: "type" }, typeName(event.type)),
    el("span", { class: "status" }, statusName(event.status)),
    el("span", { class: "where" }, where(event)),
    el("time", { datetime: event.start }, when(event.start)));
}

function upsert(event, live) {
  state.events.set(event.id, event);
  const old = $("event-list").querySelector(`[data-event="${CSS.escape(event.id)}"]`);
  if (old) old.replaceWith(row(event));
  else if (live) $("event-list").prepend(row(event));
  else $("event-list").append(row(event));
  if (state.selected === event.id) showDetail(event);
  showEmpty();
}

function showEmpty() {
  $("empty").hidden = state.events.size > 0;
}

function follow() {
  if (state.feed) state.feed.close();
  const feed = new EventSource("/api/events/stream");  // the caller's grids only; the cookie goes along
  state.feed = feed;
  feed.onopen = () => { $("live").dataset.i18n = "feed.live"; $("live").textContent = t("feed.live"); $("live").className = "badge on"; };
  feed.onerror = () => { $("live").dataset.i18n = "feed.reconnecting"; $("live").textContent = t("feed.reconnecting"); $("live").className = "badge"; };
  for (const kind of ["created", "transition", "linked", "deterrence"]) {
    feed.addEventListener(kind, (message) => upsert(JSON.parse(message.data), true));
  }
}

// -- a tip -----------------------------------------------------------------------------------------------------

async function showTipForm() {
  show("tip-view");
  window.scrollTo(0, 0);
  await openTipForm(state.me, [...state.cameras.values()]);
}

$("open-tip").addEventListener("click", () => showTipForm());
$("tip-back").addEventListener("click", () => show("list-view"));

// -- one event -------------------------------------------------------------------------------------------------

function open(id) {
  state.selected = id;
  $("note").value = "";
  $("detail-message").textContent = "";
  show("detail-view");
  showDetail(state.events.get(id));
  window.scrollTo(0, 0);
}

$("back").addEventListener("click", () => {
  state.selected = null;
  show("list-view");
});

function showDetail(event) {
  const camera = state.cameras.get(event.camera_id);
  $("detail-title").textContent = t("detail.title", { type: typeName(event.type), shop: shopName(camera, event.camera_id) });
  $("detail-when").textContent = [when(event.start), t("event.grid", { grid: event.grid }),
                                  t("meta.status", { status: statusName(event.status) })].join(" · ");
  $("detail-place").textContent = [camera && camera.address, camera ? camera.name : event.camera_id].filter(Boolean).join(" · ");
  $("pictures").replaceChildren(...Object.entries(event.snapshots).map(([name, url]) => {
    const label = pictureName(name);
    return el("figure", {}, el("img", { src: url, alt: t("picture.alt", { name: label }) }), el("figcaption", {}, label));
  }));
  $("ack-form").hidden = event.status !== "new";
  showPlace(camera);
}

// The camera's place: a map snippet (no tiles: the station's plan if it has one) with the camera's pin.
async function showPlace(camera) {
  const box = $("place-map");
  box.hidden = !(camera && camera.location);
  if (box.hidden) return;
  if (state.background === null) {
    try {
      state.background = await api("/console/map.json");
    } catch {
      state.background = { image: null };
    }
  }
  const L = window.L;
  if (!state.place) {
    state.place = L.map(box, { attributionControl: false, zoomControl: false, maxZoom: 21 });
    if (state.background.image) L.imageOverlay(state.background.image, state.background.bounds).addTo(state.place);
    state.pin = L.circleMarker([0, 0], { radius: 10, className: "place-pin" }).addTo(state.place);
  }
  const here = [camera.location.lat, camera.location.lon];
  state.pin.setLatLng(here);
  state.place.invalidateSize();
  state.place.setView(here, 18);
  box.dataset.camera = camera.id;
}

$("ack-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const id = state.selected;
  try {
    const event = await api(`/api/events/${encodeURIComponent(id)}/transitions`,
                            { json: { status: "acknowledged", note: $("note").value } });
    $("note").value = "";
    upsert(event, false);
    $("detail-message").textContent = t("detail.now", { status: statusName(event.status) });
  } catch (err) {
    $("detail-message").textContent = errorText(err);
  }
});

$("lang").addEventListener("change", async (e) => {
  await setLanguage(e.target.value);
  showWho();
  if (!$("tip-view").hidden) await openTipForm(state.me, [...state.cameras.values()]);
  for (const event of state.events.values()) upsert(event, false);
});

whenSignedOut(signedOut);

startI18n().then(() => {
  $("lang").value = language();
  return api("/api/auth/me").then(signedIn, () => signedOut());
});
