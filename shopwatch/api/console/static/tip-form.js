// "上报线索" on the patrol phone: a volunteer, grid worker or patrol files what they saw (POST /api/tips): its type,
// text, where (my position when the phone allows it, a camera, or an address matched to the registry), and up to
// the server's number of photos, each previewed and, when bigger than the server takes or than 2048 px, downscaled
// here (a smaller one goes as taken: the server reads its position, then strips its metadata). While it is sent
// the button is disabled; a failure keeps everything typed and says why in the page's language.

import { t } from "./i18n.js";
import { api, cameraLabel, el } from "./util.js";

const $ = (id) => document.getElementById(id);
const LONGEST_SIDE = 2048;
const AS_TAKEN = ["image/jpeg", "image/png", "image/webp"];
const state = { limits: null, position: null, photos: [], sending: false };

function note(text, kind = "") {
  $("tip-message").textContent = text;
  $("tip-message").className = kind;
}

// The form for `me` (cameras: those the caller may list; a tipster sees none, so it has no camera choice).
export async function openTipForm(me, cameras) {
  $("tip-who").textContent = t("who", { name: me.name, role: t(`role.${me.role}`, {}, me.role), grids: "" });
  $("tip-back").hidden = me.role === "tipster";  // a tipster has nothing else on this page
  const choice = $("tip-camera");
  const chosen = choice.value;
  choice.replaceChildren(el("option", { value: "" }, t("tip.camera_none")),
    ...cameras.map((c) => el("option", { value: c.id }, [cameraLabel(c, c.id), c.address].filter(Boolean).join(" · "))));
  choice.value = chosen;
  $("tip-camera-row").hidden = cameras.length === 0;
  if (state.limits === null) state.limits = await api("/api/tips/limits");
}

$("tip-locate").addEventListener("click", () => {
  if (!navigator.geolocation) {
    $("tip-position").textContent = t("tip.no_position");
    return;
  }
  $("tip-position").textContent = t("tip.locating");
  navigator.geolocation.getCurrentPosition(
    (found) => {
      const { latitude, longitude, accuracy } = found.coords;
      state.position = { lat: latitude, lon: longitude };
      $("tip-position").textContent = t("tip.position", { lat: latitude.toFixed(5), lon: longitude.toFixed(5),
                                                          accuracy: Math.round(accuracy) });
      $("tip-position").dataset.located = "1";
    },
    () => { $("tip-position").textContent = t("tip.no_position"); },
    { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
});

// The photo to send: as taken when the server takes it as it is, else redrawn smaller as a JPEG until it fits.
async function prepared(file, maxBytes) {
  const bitmap = await createImageBitmap(file);
  try {
    const longest = Math.max(bitmap.width, bitmap.height);
    if (AS_TAKEN.includes(file.type) && file.size <= maxBytes && longest <= LONGEST_SIDE) return file;
    let scale = Math.min(1, LONGEST_SIDE / longest);
    let quality = 0.85;
    for (let round = 0; round < 8; round += 1) {
      const canvas = el("canvas", { width: Math.max(1, Math.round(bitmap.width * scale)),
                                    height: Math.max(1, Math.round(bitmap.height * scale)) });
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      const blob = await new Promise((done) => canvas.toBlob(done, "image/jpeg", quality));
      if (blob && blob.size <= maxBytes) return blob;
      scale *= 0.75;
      quality = Math.max(0.6, quality - 0.1);
    }
    throw new Error("still too big");
  } finally {
    bitmap.close();
  }
}

function base64(blob) {
  return new Promise((done, failed) => {
    const reader = new FileReader();
    reader.onload = () => done(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => failed(reader.error);
    reader.readAsDataURL(blob);
  });
}

function showPreviews() {
  $("tip-previews").replaceChildren(...state.photos.map((photo, n) => el("figure", { dataset: { photo: String(n) } },
    el("img", { src: photo.url, alt: t("tip.photo_alt", { n: n + 1 }) }),
    el("button", { type: "button", onclick: () => drop(n) }, t("tip.photo_remove")))));
}

function drop(n) {
  URL.revokeObjectURL(state.photos[n].url);
  state.photos.splice(n, 1);
  showPreviews();
}

$("tip-photos").addEventListener("change", async (e) => {
  const limits = state.limits || { max_photos: 4, max_photo_bytes: 5 * 1024 * 1024 };
  const files = [...e.target.files];
  e.target.value = "";
  note(t("tip.preparing"));
  for (const file of files) {
    if (state.photos.length >= limits.max_photos) {
      note(t("tip.too_many", { n: limits.max_photos }), "error");
      return;
    }
    try {
      const blob = await prepared(file, limits.max_photo_bytes);
      state.photos.push({ name: file.name || "photo.jpg", blob, url: URL.createObjectURL(blob) });
    } catch {
      note(t("tip.not_a_picture", { name: file.name }), "error");
      showPreviews();
      return;
    }
  }
  showPreviews();
  note(t("tip.photos_ready", { n: state.photos.length }));
});

function failure(err) {
  if (err.status === 413) return t("tip.error.413", { detail: err.message });
  if (err.status === 415) return t("tip.error.415", { detail: err.message });
  if (err.status === 422) return t("tip.error.422", { detail: err.message });
  if (err.status === 403) return t("tip.error.403");
  if (err.status === 429) return t("error.429");
  if (!err.status) return t("tip.error.network");
  return t("error.other", { status: err.status, detail: err.message });
}

$("tip-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  if (state.sending) return;
  const form = new FormData(e.target);
  const body = { type: form.get("type"), text: String(form.get("text") || "").trim(),
                 address: String(form.get("address") || "").trim(), seen_at: new Date().toISOString() };
  if (form.get("camera_id")) body.camera_id = form.get("camera_id");
  if (state.position) Object.assign(body, state.position);
  state.sending = true;
  $("tip-send").disabled = true;
  note(t("tip.sending"));
  try {
    body.photos = await Promise.all(state.photos.map(async (p) => ({ name: p.name, data: await base64(p.blob) })));
    const tip = await api("/api/tips", { json: body });
    e.target.reset();
    state.photos.forEach((p) => URL.revokeObjectURL(p.url));
    state.photos = [];
    state.position = null;
    $("tip-position").textContent = "";
    delete $("tip-position").dataset.located;
    showPreviews();
    const id = tip.id.slice(0, 8).toUpperCase();
    note(tip.place_resolved ? t("tip.filed", { id }) : t("tip.filed_unplaced", { id }), "ok");
    $("tip-message").dataset.tip = tip.id;
  } catch (err) {
    note(t("tip.failed", { why: failure(err) }), "error");  // everything typed stays in the form
  } finally {
    state.sending = false;
    $("tip-send").disabled = false;
  }
});
