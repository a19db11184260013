// The console's one message catalogue: every visible string comes from messages/<language>.json.
// zh-CN is the default; the operator's choice is remembered in localStorage. A key missing from a catalogue
// shows the key itself (the page keeps working; tests/api/test_console_i18n.py fails on it instead).
// Times are shown in the station's zone (GET /console/station.json), 24-hour clock.

export const LANGUAGES = ["zh-CN", "en"];
const STORE_KEY = "shopwatch.lang";

const state = { lang: "zh-CN", messages: {}, zone: undefined, format: null };

function stored() {
  try {
    const lang = localStorage.getItem(STORE_KEY);
    return LANGUAGES.includes(lang) ? lang : LANGUAGES[0];
  } catch {
    return LANGUAGES[0];
  }
}

async function fetchJson(path) {
  const response = await fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.json();
}

export function language() {
  return state.lang;
}

// The station's zone (api.timezone) the page shows times in; undefined when the page could not learn it.
export function zone() {
  return state.zone;
}

// t(key, {name: "x"}): the message with {name} replaced; `fallback` for open-ended values (a device's word).
export function t(key, vars = {}, fallback = undefined) {
  let text = state.messages[key];
  if (text === undefined) {
    if (fallback !== undefined) return String(fallback);
    console.warn("missing message", state.lang, key);
    return key;
  }
  for (const [name, value] of Object.entries(vars)) text = text.split(`{${name}}`).join(String(value));
  return text;
}

export function has(key) {
  return Object.prototype.hasOwnProperty.call(state.messages, key);
}

const ATTRIBUTES = { "data-i18n-placeholder": "placeholder", "data-i18n-title": "title", "data-i18n-alt": "alt",
                     "data-i18n-aria-label": "aria-label" };

// Sets a node's text from a message key and remembers the key, so a language switch re-translates it.
export function say(node, key) {
  node.dataset.i18n = key;
  node.textContent = t(key);
}

// Fills every element under root that names a message: data-i18n (text) and data-i18n-<attribute>.
export function translate(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const [data, attribute] of Object.entries(ATTRIBUTES)) {
    for (const node of root.querySelectorAll(`[${data}]`)) node.setAttribute(attribute, t(node.getAttribute(data)));
  }
  document.documentElement.lang = state.lang;
}

function makeFormat() {
  const options = { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
                    second: "2-digit", hourCycle: "h23" };
  try {
    return new Intl.DateTimeFormat("en-US", { ...options, timeZone: state.zone });
  } catch {
    return new Intl.DateTimeFormat("en-US", options);  // an unknown zone: the browser's
  }
}

// An ISO time as the station reads it, the same in every language: 2026-12-07 23:05:09 (year first, 24-hour,
// the station's zone), never 12/07/2026 (month first reads as 12 July to a Chinese or European reader).
export function when(iso) {
  const parts = Object.fromEntries(state.format.formatToParts(new Date(iso)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second}`;
}

export async function setLanguage(lang) {
  if (!LANGUAGES.includes(lang)) lang = LANGUAGES[0];
  state.messages = await fetchJson(`messages/${lang}.json`);
  state.lang = lang;
  state.format = makeFormat();
  try {
    localStorage.setItem(STORE_KEY, lang);
  } catch {
    // private mode: the choice lasts this page only
  }
  translate();
}

export async function start() {
  try {
    state.zone = (await fetchJson("station.json")).timezone;
  } catch {
    state.zone = undefined;
  }
  await setLanguage(stored());
}

// An event picture's caption: actor, before, after ... and "patch1".."patch4", the magnified spots.
export function pictureName(name) {
  const patch = /^patch(\d+)$/.exec(name);
  return patch ? t("picture.patch", { n: patch[1] }) : t(`picture.${name}`, {}, name);
}
