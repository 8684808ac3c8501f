import { h } from "./dom.js";
import { state } from "./state.js";

// ---------------------------------------------------------------- formats (money stays text)

export const LOCALES = { en: "en-GB", fr: "fr-FR", it: "it-IT", de: "de-DE" };
export const locale = () => LOCALES[state.lang] || "en-GB";
/** The tenant's time zone when the API says it, else the browser's: every date and time is written there. */
export const zone = () => state.zone || Intl.DateTimeFormat().resolvedOptions().timeZone;

// Formatters are costly to build: one per language, zone and kind.
const formatters = new Map();
function formatter(kind, options, make = Intl.DateTimeFormat, language = locale()) {
  const key = `${kind}|${language}|${zone()}`;
  if (!formatters.has(key)) formatters.set(key, new make(language, make === Intl.DateTimeFormat ? { timeZone: zone(), ...options } : options));
  return formatters.get(key);
}

/** A count with the language's thousands separator ("1 095" in French). */
export function number(value) {
  return value === null || value === undefined ? "—" : formatter("int", { maximumFractionDigits: 0 }, Intl.NumberFormat).format(value);
}

/** Minutes as "10 h 00" (a negative one keeps its sign): hours and minutes, never a clock time. */
export function hours(minutes) {
  if (minutes === null || minutes === undefined) return "—";
  const sign = minutes < 0 ? "-" : "";
  const whole = Math.abs(Math.trunc(minutes));
  return `${sign}${number(Math.floor(whole / 60))} h ${String(whole % 60).padStart(2, "0")}`;
}
export const duration = (seconds) => (seconds === null || seconds === undefined ? "—" : hours(Math.sign(seconds) * Math.floor(Math.abs(seconds) / 60)));

/** "1095.08" + "EUR" → "€1,095.08" in English, "1 095,08 €" in French: Intl formats the API's decimal
text as a string, exactly (never through a float). Without a currency, the figure alone. */
export function money(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  const digits = (String(amount).split(".")[1] || "").length; // as many decimals as the API wrote
  const options = currency
    ? { style: "currency", currency, currencyDisplay: "symbol" }
    : { minimumFractionDigits: digits, maximumFractionDigits: digits };
  try {
    return formatter(`money:${currency || digits}`, options, Intl.NumberFormat).format(String(amount));
  } catch (failure) {
    return currency ? `${amount} ${currency}` : String(amount); // a code Intl does not know
  }
}

/** A figure's money: its `costs` per currency when it has them (never two currencies added). */
export function moneyOf(figures, currency) {
  if (!figures) return "—";
  if (Array.isArray(figures.costs) && figures.costs.length) return figures.costs.map((c) => money(c.amount, c.currency)).join(" + ");
  return money(figures.cost, figures.cost === null ? null : currency);
}

/** Decimal text ↔ integer cents, exactly (BigInt): for sums made in the browser. */
export function cents(amount) {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(amount));
  if (!match) return 0n;
  const value = BigInt(match[2]) * 100n + BigInt((match[3] || "0").padEnd(2, "0"));
  return match[1] ? -value : value;
}

export function centsText(value) {
  const sign = value < 0n ? "-" : "";
  const magnitude = value < 0n ? -value : value;
  return `${sign}${magnitude / 100n}.${String(magnitude % 100n).padStart(2, "0")}`;
}

const DATE = { day: "2-digit", month: "2-digit", year: "numeric" }; // four-digit years in every language
const TIME = { hour: "2-digit", minute: "2-digit" };

/** A moment as the page writes it: "31/10/2026 23:30" in the tenant's time zone. */
export function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return formatter("when", { ...DATE, ...TIME }).format(date);
}

export function clock(iso) {
  return formatter("clock", TIME).format(new Date(iso));
}

export function sameDay(a, b) {
  return Boolean(a && b) && formatter("date", DATE).format(new Date(a)) === formatter("date", DATE).format(new Date(b));
}

export function day(iso) {
  return formatter("day", { dateStyle: "medium" }).format(new Date(iso));
}

export const pad = (n) => String(n).padStart(2, "0");

/** The date inputs speak the language's own order (dd/mm/yyyy), never the browser's mm/dd/yyyy. */
export function dayText(iso) {
  const [year, month, date] = iso.split("-");
  return `${date}/${month}/${year}`;
}

/** "31/10/2026" (or 31.10.2026, 31-10-2026, 31 10 2026, or 31102026 typed on a keypad without
separators) → "2026-10-31"; "" → ""; anything else → null. */
export function readDay(text) {
  const value = String(text || "").trim();
  if (!value) return "";
  const match = /^(\d{1,2})\s*[/.,\- ]\s*(\d{1,2})\s*[/.,\- ]\s*(\d{4})$/.exec(value) || /^(\d{2})(\d{2})(\d{4})$/.exec(value);
  if (!match) return null;
  const [date, month, year] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(year, month - 1, date);
  if (check.getFullYear() !== year || check.getMonth() !== month - 1 || check.getDate() !== date) return null;
  return `${year}-${pad(month)}-${pad(date)}`;
}

export const monthText = (month) => `${month.slice(5, 7)}/${month.slice(0, 4)}`;
export function readMonth(text) {
  const match = /^\s*(\d{1,2})\s*[/.,\- ]\s*(\d{4})\s*$/.exec(String(text || "")) || /^\s*(\d{2})(\d{4})\s*$/.exec(String(text || ""));
  if (!match || Number(match[1]) < 1 || Number(match[1]) > 12) return null;
  return `${match[2]}-${pad(Number(match[1]))}`;
}
export function monthName(month) {
  const [year, number] = month.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(), { month: "long", year: "numeric" }).format(new Date(year, number - 1, 15));
}
export function shiftMonth(month, by) {
  const [year, number] = month.split("-").map(Number);
  const moved = new Date(year, number - 1 + by, 1);
  return `${moved.getFullYear()}-${pad(moved.getMonth() + 1)}`;
}
export function monthDays(month) {
  const [year, number] = month.split("-").map(Number);
  const last = new Date(year, number, 0).getDate();
  return { fromDay: `${month}-01`, toDay: `${month}-${pad(last)}` };
}

/** The tenant's zone's offset from UTC at an instant, in minutes (Paris in October: 120). */
function offsetAt(instant) {
  const parts = Object.fromEntries(formatter("offset", { hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit" }, Intl.DateTimeFormat, "en-US").formatToParts(instant).map((p) => [p.type, p.value]));
  return Math.round((Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second) - instant.getTime()) / 60000);
}

/** A day and minute of the day on the tenant's clock → ISO 8601 with that zone's offset then, as the API
wants ("2026-10-31T00:00:00+01:00"), whatever the browser's own zone. */
export function zonedInstant(dayIso, minutes = 0) {
  const [year, month, date] = dayIso.split("-").map(Number);
  const wall = Date.UTC(year, month - 1, date, 0, minutes);
  let offset = offsetAt(new Date(wall));
  offset = offsetAt(new Date(wall - offset * 60000)); // the offset in force at the instant itself (DST)
  const moment = new Date(wall); // its UTC fields are the wall clock's
  const sign = offset >= 0 ? "+" : "-";
  return `${moment.getUTCFullYear()}-${pad(moment.getUTCMonth() + 1)}-${pad(moment.getUTCDate())}T${pad(moment.getUTCHours())}:${pad(moment.getUTCMinutes())}:00`
    + `${sign}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
}

/** "2026-03-01" (+ days) → the tenant's midnight with its offset ("...T00:00:00+01:00"). */
export function localMidnight(dateText, addDays = 0) {
  return zonedInstant(addDays ? shiftDay(dateText, addDays) : dateText);
}

/** Accent-, case- and space-insensitive text for the search box ("Hélène" finds "helene"). */
export function folded(text) {
  return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/\s+/g, " ").trim();
}

export function shiftDay(dayIso, by) {
  const [year, month, date] = dayIso.split("-").map(Number);
  const moved = new Date(year, month - 1, date + by, 12);
  return `${moved.getFullYear()}-${pad(moved.getMonth() + 1)}-${pad(moved.getDate())}`;
}
