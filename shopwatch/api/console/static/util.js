// What every part of the console shares: building elements (text always as text, never parsed as HTML) and
// calling the API with the login cookie (a 401 anywhere signs the page out).

import { t } from "./i18n.js";

let onSignedOut = () => {};

export function whenSignedOut(callback) {
  onSignedOut = callback;
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

// The detection event types, in the order every menu of them offers them (the event filter, the map search).
export const EVENT_TYPES = ["card_posting", "loitering", "intrusion"];

// Fills each `<select data-event-types>` below root with the event types after its own first option ("all",
// "any type"); their names come from the catalogue (data-i18n) like every other label.
export function eventTypeMenus(root) {
  for (const menu of root.querySelectorAll("select[data-event-types]")) {
    menu.append(...EVENT_TYPES.map((type) => el("option", { value: type, dataset: { i18n: `type.${type}` } })));
  }
}

export class ApiError extends Error {
  constructor(status, detail, reasons = []) {
    super(detail);
    this.status = status;
    this.reasons = reasons;  // the refusal's codes (quiet_hours, busy...), for a sentence in the page's language
  }
}

export async function api(path, options = {}) {
  const init = { credentials: "same-origin", headers: { Accept: "application/json" }, ...options };
  if (options.json !== undefined) {
    init.method = init.method || "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(options.json);
  }
  const response = await fetch(path, init);
  if (response.status === 401 && path !== "/api/auth/login") {
    onSignedOut();
    throw new ApiError(401, "signed out");
  }
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const detail = body && body.detail;
    const reasons = body && Array.isArray(body.reasons) ? body.reasons : [];
    throw new ApiError(response.status, typeof detail === "string" ? detail : `HTTP ${response.status}`, reasons);
  }
  return body;
}


// What a camera is called on screen, in the merchants' own words: "shop · camera", whichever of the two is set.
export function cameraLabel(camera, id) {
  return camera ? [camera.merchant.name, camera.name].filter(Boolean).join(" · ") || id : id;
}

// The shop a camera belongs to (its own name where the merchant left the shop's name empty).
export function shopName(camera, id) {
  return (camera && (camera.merchant.name || camera.name)) || id;
}

// An API failure in the reader's language: too many tries, signed out, or the status and the server's words.
export function errorText(err) {
  if (err.status === 429) return t("error.429");
  if (err.status === 401) return t("error.401");
  return t("error.other", { status: err.status || "-", detail: err.message });
}
