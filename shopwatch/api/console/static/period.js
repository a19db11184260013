// The case-analysis page's periods, in the station's zone (api.timezone, not the browser's): the last 7 or 30
// days up to now, this month so far, last month, or whole days picked by hand (the last one included).
// The server compares each with the period of the same length just before it.

const DAY_MS = 86_400_000;
export const MAX_DAYS = 366;  // GET /api/stats refuses longer periods (api/routers/stats.py)
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

// The station's wall clock at an instant: {y, m, d, h, mi, s} (month 1-12).
function wallClock(ms, zone) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
    second: "2-digit", hourCycle: "h23" });
  const p = Object.fromEntries(format.formatToParts(new Date(ms)).map((part) => [part.type, Number(part.value)]));
  return { y: p.year, m: p.month, d: p.day, h: p.hour, mi: p.minute, s: p.second };
}

// How far the zone's clock is ahead of UTC at an instant, in ms.
function offsetAt(ms, zone) {
  const c = wallClock(ms, zone);
  return Date.UTC(c.y, c.m - 1, c.d, c.h, c.mi, c.s) - Math.floor(ms / 1000) * 1000;
}

// The instant the station's day y-m-d begins (the month and day may overflow: Date.UTC carries them).
export function midnight(y, m, d, zone) {
  const guess = Date.UTC(y, m - 1, d);
  let ms = guess - offsetAt(guess, zone);
  ms = guess - offsetAt(ms, zone);  // again, where a daylight-saving change lies between the two
  return ms;
}

export function today(nowMs, zone) {
  const c = wallClock(nowMs, zone);
  return { y: c.y, m: c.m, d: c.d };
}

// "2026-11-09" -> {y, m, d}, or null when it is not a real date written year first.
export function parseDate(text) {
  const found = DATE.exec(String(text).trim());
  if (!found) return null;
  const [y, m, d] = found.slice(1).map(Number);
  const back = new Date(Date.UTC(y, m - 1, d));
  return back.getUTCMonth() === m - 1 && back.getUTCDate() === d ? { y, m, d } : null;
}

export function dateText({ y, m, d }) {
  return `${String(y).padStart(4, "0")}-${String(m).padStart(2, "0")}-${String(d).padStart(2, "0")}`;
}

// A preset's period as {from, to} in ms; "custom" takes the first and last day ({y, m, d}, both included).
// A refused custom period throws an Error whose `code` says why: "date", "order" or "long".
export function period(kind, nowMs, zone, custom = {}) {
  const day = today(nowMs, zone);
  switch (kind) {
    case "7d": return { from: nowMs - 7 * DAY_MS, to: nowMs };
    case "30d": return { from: nowMs - 30 * DAY_MS, to: nowMs };
    case "month": return { from: midnight(day.y, day.m, 1, zone), to: nowMs };
    case "last_month": return { from: midnight(day.y, day.m - 1, 1, zone), to: midnight(day.y, day.m, 1, zone) };
    case "custom": {
      const { first, last } = custom;
      if (!first || !last) throw Object.assign(new Error("bad date"), { code: "date" });
      const from = midnight(first.y, first.m, first.d, zone);
      const to = midnight(last.y, last.m, last.d + 1, zone);
      if (to <= from) throw Object.assign(new Error("backwards"), { code: "order" });
      if (to - from > MAX_DAYS * DAY_MS) {
        throw Object.assign(new Error("too long"), { code: "long" });
      }
      return { from, to };
    }
    default: throw new Error(`unknown period ${kind}`);
  }
}
