// The web console: one page, no build step, no dependency. It speaks to the API on its own origin
// (/v1, bearer token) and shows each role only what that role may do.
import { STRINGS, LANGUAGES, preferredLanguage } from "./i18n.js";

const API = "/v1";
// Rows per page: 50, or ?page_size=N (1–1000) in the console's address.
const PAGE_SIZE = (() => {
  const asked = Number.parseInt(new URLSearchParams(location.search).get("page_size"), 10);
  return asked >= 1 && asked <= 1000 ? asked : 50;
})();
const TOKEN_KEY = "rsa.console.token";
const LANG_KEY = "rsa.console.lang";
const JOB_POLL_MS = 700;

const CAN = {
  edit: ["admin", "technician"],
  lock: ["admin", "technician", "finance"],
  lockAll: ["admin", "finance"],
  export: ["admin", "finance"],
  month: ["admin", "finance"],
  quote: ["admin", "technician", "finance"],
  simulate: ["admin", "finance"],
  events: ["admin", "finance"],
  recharge: ["admin"],
  admin: ["admin"],
};

const state = {
  lang: "en",
  token: null,
  me: null,
  role: null,
  view: "sessions",
  groups: [],
  profiles: [],
  sessions: [],
  cursor: null,
  query: null, // the search the table shows: {group, from, to, fromDay, toDay, status}
  sort: { key: "started_at", dir: 1 },
  totals: null,
  month: null, // "2026-10"
  monthRows: [],
  client: null, // the client open in the clients view
  computers: [],
  contracts: [],
  tokens: [],
  searchSeq: 0,
  totalsSeq: 0,
};

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
const can = (what) => CAN[what].includes(state.role);

// ---------------------------------------------------------------- words

function t(key, params = {}) {
  const text = STRINGS[state.lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** {sessions} of a sentence about `count` sessions. */
function counted(count) {
  return { count, sessions: t(count === 1 ? "word.session" : "word.sessions") };
}

// Every message on the page keeps how it was made, so a language switch rewrites it in place.
const spoken = new Set();
function say(element, words, visible = true) {
  element._words = words;
  element.textContent = words();
  spoken.add(element);
  if (visible) show(element);
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const element of $$("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  document.title = t("app.title");
  for (const input of $$("input.date")) input.placeholder = t("date.placeholder");
  $("#month").placeholder = t("month.placeholder");
  for (const element of [...spoken]) {
    if (!element.isConnected) { spoken.delete(element); continue; }
    try {
      if (element._words) element.textContent = element._words();
    } catch (failure) {
      spoken.delete(element); // words about something gone: never let one stop the others
    }
  }
}

function setLanguage(lang) {
  const days = { from: readDay($("#from").value), to: readDay($("#to").value) };
  const month = readMonth($("#month").value);
  state.lang = lang in STRINGS ? lang : "en";
  localStorage.setItem(LANG_KEY, state.lang);
  $("#lang").value = state.lang;
  // Dates typed in the former language's format are rewritten in the new one.
  for (const name of ["from", "to"]) if (days[name]) $(`#${name}`).value = dayText(days[name]);
  if (month) $("#month").value = monthText(month);
  applyLanguage();
  renderAll();
}

function renderAll() {
  if (!state.role) return;
  renderSessions();
  renderTotals();
  if (can("month")) { renderMonth(); renderSimulation(); renderEvents(); }
  renderQuote();
  if (can("admin")) { renderProfiles(); renderClients(); renderClient(); renderTokens(); }
}

// ---------------------------------------------------------------- formats (money stays text)

const LOCALES = { en: "en-GB", fr: "fr-FR", it: "it-IT" };
const locale = () => LOCALES[state.lang] || "en-GB";

/** Minutes as "10 h 00" (a negative one keeps its sign): hours and minutes, never a clock time. */
function hours(minutes) {
  if (minutes === null || minutes === undefined) return "—";
  const sign = minutes < 0 ? "-" : "";
  const whole = Math.abs(Math.trunc(minutes));
  return `${sign}${Math.floor(whole / 60)} h ${String(whole % 60).padStart(2, "0")}`;
}
const duration = (seconds) => (seconds === null || seconds === undefined ? "—" : hours(Math.sign(seconds) * Math.floor(Math.abs(seconds) / 60)));

/** "12.50" + "EUR" → "12.50 EUR" (or "12,50 EUR" in French and Italian): the API's decimal text, never a float. */
function money(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  const text = state.lang === "en" ? String(amount) : String(amount).replace(".", ",");
  return currency ? `${text} ${currency}` : text;
}

/** A figure's money: its `costs` per currency when it has them (never two currencies added). */
function moneyOf(figures, currency) {
  if (!figures) return "—";
  if (Array.isArray(figures.costs) && figures.costs.length) return figures.costs.map((c) => money(c.amount, c.currency)).join(" + ");
  return money(figures.cost, figures.cost === null ? null : currency);
}

/** Decimal text ↔ integer cents, exactly (BigInt): for sums made in the browser. */
function cents(amount) {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(String(amount));
  if (!match) return 0n;
  const value = BigInt(match[2]) * 100n + BigInt((match[3] || "0").padEnd(2, "0"));
  return match[1] ? -value : value;
}

function centsText(value) {
  const sign = value < 0n ? "-" : "";
  const magnitude = value < 0n ? -value : value;
  return `${sign}${magnitude / 100n}.${String(magnitude % 100n).padStart(2, "0")}`;
}

function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(locale(), { dateStyle: "short", timeStyle: "short" }).format(date);
}

function clock(iso) {
  return new Intl.DateTimeFormat(locale(), { timeStyle: "short" }).format(new Date(iso));
}

function sameDay(a, b) {
  return Boolean(a && b) && new Date(a).toDateString() === new Date(b).toDateString();
}

function day(iso) {
  return new Intl.DateTimeFormat(locale(), { dateStyle: "medium" }).format(new Date(iso));
}

const pad = (n) => String(n).padStart(2, "0");

/** The date inputs speak the language's own order (dd/mm/yyyy), never the browser's mm/dd/yyyy. */
function dayText(iso) {
  const [year, month, date] = iso.split("-");
  return `${date}/${month}/${year}`;
}

/** "31/10/2026" (or 31.10.2026, 31-10-2026) → "2026-10-31"; "" → ""; anything else → null. */
function readDay(text) {
  const value = String(text || "").trim();
  if (!value) return "";
  const match = /^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$/.exec(value);
  if (!match) return null;
  const [date, month, year] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const check = new Date(year, month - 1, date);
  if (check.getFullYear() !== year || check.getMonth() !== month - 1 || check.getDate() !== date) return null;
  return `${year}-${pad(month)}-${pad(date)}`;
}

const monthText = (month) => `${month.slice(5, 7)}/${month.slice(0, 4)}`;
function readMonth(text) {
  const match = /^\s*(\d{1,2})[/.\-](\d{4})\s*$/.exec(String(text || ""));
  if (!match || Number(match[1]) < 1 || Number(match[1]) > 12) return null;
  return `${match[2]}-${pad(Number(match[1]))}`;
}
function monthName(month) {
  const [year, number] = month.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(), { month: "long", year: "numeric" }).format(new Date(year, number - 1, 15));
}
function shiftMonth(month, by) {
  const [year, number] = month.split("-").map(Number);
  const moved = new Date(year, number - 1 + by, 1);
  return `${moved.getFullYear()}-${pad(moved.getMonth() + 1)}`;
}
function monthDays(month) {
  const [year, number] = month.split("-").map(Number);
  const last = new Date(year, number, 0).getDate();
  return { fromDay: `${month}-01`, toDay: `${month}-${pad(last)}` };
}

/** "2026-03-01" (+ days) → local midnight with its offset, as the API wants ("...T00:00:00+01:00"). */
function localMidnight(dateText, addDays = 0) {
  const [year, month, date] = dateText.split("-").map(Number);
  const moment = new Date(year, month - 1, date + addDays);
  const offset = -moment.getTimezoneOffset();
  const zone = `${offset >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}T00:00:00${zone}`;
}

/** Accent-, case- and space-insensitive text for the search box ("Hélène" finds "helene"). */
function folded(text) {
  return String(text || "").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/\s+/g, " ").trim();
}

// ---------------------------------------------------------------- DOM

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name in element && typeof value !== "string") element[name] = value;
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/** A table cell that says its column on a phone (the table turns into cards there). */
function cell(label, attributes, ...children) {
  return h("td", { ...attributes, dataset: { label: t(label), ...(attributes.dataset || {}) } }, ...children);
}

const SVG = "http://www.w3.org/2000/svg";
function padlock(closed) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("padlock");
  const shackle = document.createElementNS(SVG, "path");
  shackle.setAttribute("d", closed ? "M7 11V7a5 5 0 0 1 10 0v4" : "M7 11V7a5 5 0 0 1 9.6-2");
  const body = document.createElementNS(SVG, "rect");
  for (const [k, v] of Object.entries({ x: 4, y: 11, width: 16, height: 10, rx: 2 })) body.setAttribute(k, v);
  svg.append(shackle, body);
  return svg;
}

function show(element, visible = true) { element.hidden = !visible; }

// ---------------------------------------------------------------- errors in words

class ApiError extends Error {
  constructor(status, code, message, data = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data;
    // A 4xx says "field: reason": keep the field to show the error next to it and name it.
    // ("surcharges[2].from: ..." names a field of the third rule)
    const named = status >= 400 && status < 500 ? /^([A-Za-z_][A-Za-z0-9_.\-\[\]]*): (.*)$/s.exec(message || "") : null;
    this.field = named ? named[1] : null;
    this.reason = named ? named[2] : message;
  }
}

// The API keeps machine codes and English reasons; the console says them in the page's language.
const REASONS = [
  [/^is required/, "reason.required"],
  [/^must be between (-?\d+) and (-?\d+)/, "reason.between", ["low", "high"]],
  [/^must be at most (\d+) characters/, "reason.maxChars", ["max"]],
  [/^must be a string of 1 to (\d+) characters/, "reason.idLength", ["max"]],
  [/^must be at most ([\d.]+)/, "reason.atMost", ["max"]],
  [/^must be at least ([\d.]+)/, "reason.atLeast", ["min"]],
  [/^must be greater than 0/, "reason.positive"],
  [/^must not be empty/, "reason.empty"],
  [/^must not be negative/, "reason.negative"],
  [/^must not be before (\w+)/, "reason.notBefore", ["other"]],
  [/^must (?:be a decimal number|be written as plain digits|be an exact decimal)/, "reason.decimal"],
  [/^must have at most 2 decimal places/, "reason.places"],
  [/^must be a whole number of minutes/, "reason.wholeMinutes"],
  [/^must be a whole number from (\d+) to (\d+)/, "reason.wholeRange", ["low", "high"]],
  [/^must be an integer|^must be a whole number/, "reason.integer"],
  [/^must be one of (.+)$/, "reason.oneOf", ["values"]],
  [/^must not contain control characters/, "reason.control"],
  [/^must not contain '\/'/, "reason.slash"],
  [/^must not contain a lone UTF-16 surrogate/, "reason.surrogate"],
  [/^must be a 3-letter ISO 4217 code/, "reason.currency"],
  [/^must be a string/, "reason.string"],
  [/^must be an ISO 8601 timestamp|^must carry a UTC offset/, "reason.timestamp"],
  [/^is not a field of/, "reason.unknownField"],
  [/^is not a parameter of/, "reason.unknownParam"],
  [/^a recharge must add hours or an amount/, "reason.rechargeEmpty"],
  [/^a session (?:may last|lasts) at most 31 days/, "reason.tooLong"],
  [/^must be from ([\d.]+) to ([\d.]+)/, "reason.fromTo", ["low", "high"]],
  [/^must be a local time HH:MM|^must be a time of day/, "reason.clock"],
  [/^must be after from/, "reason.afterFrom"],
  [/^must be a date YYYY-MM-DD|^is not a calendar date|^must be a list of dates/, "reason.date"],
  [/^must be an IANA time zone|^is not a known IANA time zone/, "reason.timeZone"],
  [/^names holiday but the profile has no holidays/, "reason.holidayWithout"],
  [/^must be an ISO 3166 country code/, "reason.country"],
  [/^has no public holiday calendar/, "reason.noCalendar"],
  [/^needs holidays.country/, "reason.needsCountry"],
  [/^must be a subdivision code|^is not a subdivision of/, "reason.subdivision"],
  [/^must name a country or list dates/, "reason.holidaysEmpty"],
  [/^must be a whole percentage from 0 to 100|^must be a list of percentages/, "reason.percent"],
  [/^repeats (.+)$/, "reason.repeats", ["value"]],
  [/^must hold at most (\d+)/, "reason.holdAtMost", ["max"]],
  [/^must be a non-empty list of/, "reason.noDay"],
  [/^would cost ([\d.]+), above the limit/, "reason.tooDear", ["cost"]],
  [/^must be a JSON object|^is not valid JSON|^must be UTF-8 JSON/, "reason.json"],
  [/^give extra_minutes, notes or both/, "reason.nothingToChange"],
];

function fieldName(field) {
  const key = `field.${field}`;
  if (key in STRINGS.en) return t(key);
  // Fields inside lists: "surcharges[2].from", "sessions[0].ended_at", "holidays.dates[3]", "profile.step_cost".
  let match = /^surcharges\[(\d+)\](?:\.(\w+))?/.exec(field);
  if (match) return t("field.surchargeRule", { n: Number(match[1]) + 1 }) + (match[2] ? ` · ${t(`field.surcharge.${match[2]}`)}` : "");
  match = /^sessions\[(\d+)\](?:\.(\w+))?/.exec(field);
  if (match) return t("field.quoteSession", { n: Number(match[1]) + 1 }) + (match[2] ? ` · ${fieldName(match[2])}` : "");
  match = /^(holidays\.\w+|alert_thresholds)\[\d+\]$/.exec(field);
  if (match) return fieldName(match[1]);
  if (field.startsWith("profile.")) return fieldName(field.slice("profile.".length));
  return field;
}

function reasonWords(reason) {
  for (const [pattern, key, names = []] of REASONS) {
    const match = pattern.exec(reason || "");
    if (!match) continue;
    const params = Object.fromEntries(names.map((name, i) => [name, match[i + 1]]));
    if ("other" in params) params.other = fieldName(params.other);
    if ("value" in params && `day.${params.value}` in STRINGS.en) params.value = t(`day.${params.value}`);
    if ("values" in params) params.values = params.values.split(/,\s*/).map((v) => (`word.${v}` in STRINGS.en ? t(`word.${v}`) : v)).join(", ");
    return t(key, params);
  }
  return t("reason.other", { reason });
}

const SUBJECTS = ["group", "session", "profile", "token", "export", "tenant", "job", "contract"];

function describe(error) {
  if (!(error instanceof ApiError)) return error && error.words ? error.words() : String(error && error.message ? error.message : error);
  if (error.status === 0) return t("error.network");
  if (error.code === "invalid_input" && error.field) return t("error.fieldReason", { field: fieldName(error.field), reason: reasonWords(error.reason) });
  if (error.code === "not_found") {
    const subject = SUBJECTS.find((s) => (error.message || "").startsWith(`${s} `)) || (/has no contract/.test(error.message) ? "contract" : null);
    return subject ? t(`error.notFound.${subject}`) : t("error.not_found");
  }
  if (error.code === "balance_open") {
    const minutes = /balance is (-?\d+) minutes/.exec(error.message || "");
    return t("error.balance_open", { balance: minutes ? hours(Number(minutes[1])) : "?" });
  }
  if (error.code === "forbidden") return t("error.forbidden", { role: t(`role.${state.role}`) });
  if (error.code === "unauthorized") return t(/revoked|unknown/.test(error.message) ? "error.unauthorized.unknown" : "error.unauthorized");
  if (error.code === "immutable_field" && error.field) return t("error.immutable_field", { field: fieldName(error.field) });
  const key = `error.${error.code}`;
  if (key in STRINGS.en) return t(key);
  return t("error.other", { status: error.status, code: error.code });
}

function showError(element, error) {
  say(element, () => describe(error));
}

function clearMessage(...elements) {
  for (const element of elements) { element.textContent = ""; element._words = null; spoken.delete(element); show(element, false); }
}

function notice(element, key, params = {}) {
  say(element, () => t(key, typeof params === "function" ? params() : params));
}

// ---------------------------------------------------------------- the API

let inFlight = 0; // requests under way; document.body.dataset.busy says whether any is (tests wait on it)
function busy(change) {
  inFlight += change;
  document.body.dataset.busy = inFlight > 0 ? "true" : "false";
}

async function api(method, path, options = {}) {
  busy(+1);
  try {
    return await request(method, path, options);
  } finally {
    busy(-1);
  }
}

async function request(method, path, { query = {}, body } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch (failure) {
    throw new ApiError(0, "network", failure.message);
  }
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) {
    const detail = data && data.error ? data.error : {};
    const error = new ApiError(response.status, detail.code || `http_${response.status}`, detail.message || text.slice(0, 200), data);
    if (response.status === 401 && state.role) expire(error);
    throw error;
  }
  if (data === null || typeof data !== "object") throw new ApiError(response.status, "bad_answer", `HTTP ${response.status}`);
  return { status: response.status, data };
}

/** A 202 job (SPEC §9): polls GET /v1/jobs/{job_id}, saying its progress, until it has its result. */
async function jobResult(answer, progress) {
  let { status, data } = answer;
  if (!(status === 202 && data.job_id)) return data;
  for (;;) {
    const done = data.progress || {};
    say(progress, () => t(done.total ? "job.progressOf" : "job.progress", { done: done.done ?? 0, total: done.total ?? "" }));
    if (data.status === "succeeded") { clearMessage(progress); return data.result || {}; }
    if (data.status === "failed") {
      clearMessage(progress);
      const cause = data.error || {};
      throw new ApiError(409, cause.code || "job_failed", cause.message || "");
    }
    await new Promise((resolve) => setTimeout(resolve, JOB_POLL_MS));
    ({ status, data } = await api("GET", `/jobs/${encodeURIComponent(data.job_id)}`));
  }
}

// ---------------------------------------------------------------- sign-in

async function signIn(token) {
  const errorBox = $("#signin-error");
  clearMessage(errorBox);
  if (!token) { notice(errorBox, "signin.empty"); return; }
  state.token = token;
  notice(errorBox, "signin.checking");
  let me;
  try {
    me = (await api("GET", "/me")).data;
  } catch (error) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showError(errorBox, error);
    return;
  }
  clearMessage(errorBox);
  if (!["admin", "technician", "finance"].includes(me.role)) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    notice(errorBox, "signin.agent");
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  state.me = me;
  state.role = me.role;
  document.body.dataset.role = me.role;
  $("#token").value = "";
  applyRole();
  await loadGroups();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, {
    token: null, me: null, role: null, groups: [], sessions: [], cursor: null, query: null, totals: null, profiles: [],
    monthRows: [], client: null, computers: [], contracts: [], tokens: [], events: [], simulation: null, quoted: null,
  });
  delete document.body.dataset.role;
  // Leave nothing of the previous user's data on the page.
  for (const body of $$("table:not(.figures) tbody")) body.replaceChildren();
  $("#group").replaceChildren();
  for (const id of ["#sessions-view", "#month-view", "#clients-view", "#profiles-view", "#tokens-view", "#nav", "#whoami", "#tenant",
    "#signout", "#export-result", "#profile-form", "#history", "#client-detail", "#token-new", "#month-export", "#balance",
    "#simulate-result", "#quote-result", "#quote-view"]) show($(id), false);
  $("#simulate tbody").replaceChildren();
  $("#quote-lines").replaceChildren();
  $("#quote-sessions").replaceChildren();
  quoteInline = null;
  for (const element of [...spoken]) clearMessage(element);
  renderTotals();
  show($("#signin-view"));
  if (message) say($("#signin-error"), message);
  $("#token").focus();
}

function expire(error) {
  signOut(() => t("session.expired", { message: describe(error) }));
}

function applyRole() {
  show($("#signin-view"), false);
  show($("#nav"));
  say($("#whoami"), () => (state.me.label ? t("signedinAs", { label: state.me.label, role: t(`role.${state.role}`) }) : t("signedin", { role: t(`role.${state.role}`) })));
  say($("#tenant"), () => state.me.tenant_name || state.me.tenant_id);
  show($("#signout"));
  show($("#tab-month"), can("month"));
  show($("#tab-quote"), can("quote"));
  for (const id of ["#tab-clients", "#tab-profiles", "#tab-tokens"]) show($(id), can("admin"));
  show($("#export"), can("export"));
  show($("#recharge"), can("recharge"));
  showView("sessions");
}

function showView(view) {
  if ((view === "month" && !can("month")) || (["clients", "profiles", "tokens"].includes(view) && !can("admin"))) view = "sessions";
  state.view = view;
  for (const name of ["sessions", "month", "quote", "clients", "profiles", "tokens"]) show($(`#${name}-view`), view === name);
  for (const tab of $$(".tab")) tab.classList.toggle("active", tab.dataset.view === view);
  if (view === "profiles") loadProfiles();
  if (view === "clients") loadClients();
  if (view === "tokens") loadTokens();
  if (view === "month") { loadMonth(); loadSimulationChoices(); loadEvents(); }
  if (view === "quote") openQuote();
}

// ---------------------------------------------------------------- groups and the filter

async function loadGroups() {
  clearMessage($("#filter-error"));
  try {
    state.groups = (await api("GET", "/groups")).data.groups || [];
  } catch (error) {
    showError($("#filter-error"), error);
    return;
  }
  fillGroups();
  if (!state.groups.length) { notice($("#filter-error"), can("admin") ? "filter.noGroupsAdmin" : "filter.noGroups"); return; }
  await search();
}

function fillGroups() {
  const select = $("#group");
  const previous = select.value;
  select.replaceChildren(...state.groups.map((group) => h("option", { value: group.group_id }, group.name)));
  if (state.groups.some((group) => group.group_id === previous)) select.value = previous;
}

function readFilter() {
  const fromDay = readDay($("#from").value);
  const toDay = readDay($("#to").value);
  if (fromDay === null) return { error: () => t("filter.badDate", { field: t("filter.from"), example: t("date.placeholder") }) };
  if (toDay === null) return { error: () => t("filter.badDate", { field: t("filter.to"), example: t("date.placeholder") }) };
  if (fromDay && toDay && fromDay > toDay) return { error: () => t("filter.fromAfterTo") };
  return {
    group: $("#group").value,
    from: fromDay ? localMidnight(fromDay) : "",
    to: toDay ? localMidnight(toDay, 1) : "", // the day shown is included: the API's `to` is exclusive
    fromDay,
    toDay,
    status: $("#status").value,
  };
}

function setDays(fromDay, toDay) {
  $("#from").value = fromDay ? dayText(fromDay) : "";
  $("#to").value = toDay ? dayText(toDay) : "";
}

function setPeriod(which) {
  if (which === "all") setDays("", "");
  else {
    const now = new Date();
    const month = shiftMonth(`${now.getFullYear()}-${pad(now.getMonth() + 1)}`, which === "last" ? -1 : 0);
    const { fromDay, toDay } = monthDays(month);
    setDays(fromDay, toDay);
  }
  search();
}

function periodText(query) {
  const from = query.fromDay ? day(`${query.fromDay}T12:00:00`) : null;
  const to = query.toDay ? day(`${query.toDay}T12:00:00`) : null;
  if (from && to) return t("period.range", { from, to });
  if (from) return t("period.from", { from });
  if (to) return t("period.to", { to });
  return t("period.all");
}

// ---------------------------------------------------------------- sessions

async function search() {
  const query = readFilter();
  clearMessage($("#sessions-error"), $("#lock-all-result"), $("#filter-error"), $("#export-error"));
  show($("#export-result"), false);
  if (query.error) {
    // One message, next to the dates; the table is emptied rather than saying "no session".
    say($("#filter-error"), query.error);
    state.query = null;
    state.sessions = [];
    state.cursor = null;
    state.totals = null;
    renderSessions();
    renderTotals();
    return;
  }
  if (!query.group) return;
  state.query = query;
  state.sessions = [];
  state.cursor = null;
  rowErrors.clear();
  renderSessions();
  await Promise.all([loadPage(), loadTotals()]);
}

async function loadPage() {
  const query = state.query;
  const seq = ++state.searchSeq;
  const button = $("#more");
  button.disabled = true;
  $("#sessions-count").textContent = t("sessions.loading");
  try {
    const { data } = await api("GET", `/groups/${encodeURIComponent(query.group)}/sessions`, {
      query: { from: query.from, to: query.to, status: query.status, limit: PAGE_SIZE, cursor: state.cursor },
    });
    if (seq !== state.searchSeq) return;
    state.sessions.push(...(data.sessions || []));
    state.cursor = data.next_cursor || null;
  } catch (error) {
    if (seq !== state.searchSeq) return;
    showError(state.cursor ? $("#sessions-error") : $("#filter-error"), error);
  } finally {
    if (seq === state.searchSeq) button.disabled = false;
  }
  renderSessions();
}

function sortValue(session, key) {
  if (key === "cost") return session.cost === null || session.cost === undefined ? -1e15 : Number(cents(session.cost));
  const value = session[key];
  return typeof value === "string" ? folded(value) : value ?? -1;
}

/** The loaded sessions that the search box matches (client-side: over the pages loaded so far), sorted. */
function visibleSessions() {
  const words = folded($("#text").value).split(" ").filter(Boolean);
  const matching = words.length
    ? state.sessions.filter((s) => { const hay = folded(`${s.technician} ${s.computer_id} ${s.notes || ""}`); return words.every((w) => hay.includes(w)); })
    : [...state.sessions];
  const { key, dir } = state.sort;
  return matching.sort((a, b) => {
    const x = sortValue(a, key), y = sortValue(b, key);
    return (x < y ? -1 : x > y ? 1 : 0) * dir || (a.started_at < b.started_at ? -1 : 1);
  });
}

function renderSessions() {
  const body = $("#sessions tbody");
  const shown = visibleSessions();
  body.replaceChildren(...shown.flatMap((session) => {
    const line = sessionRow(session);
    const error = rowErrors.get(session.session_id);
    return error ? [line, errorRow(session.session_id, line.children.length, error)] : [line];
  }));
  for (const button of $$("#sessions .sort")) {
    const active = button.dataset.sort === state.sort.key;
    button.classList.toggle("active", active);
    button.closest("th").setAttribute("aria-sort", active ? (state.sort.dir > 0 ? "ascending" : "descending") : "none");
  }
  const loaded = state.query !== null;
  const empty = $("#sessions-empty");
  if (loaded && !shown.length && !state.cursor) say(empty, () => t(state.sessions.length ? "sessions.noMatch" : "sessions.none"));
  else clearMessage(empty);
  const filtered = shown.length !== state.sessions.length;
  $("#sessions-count").textContent = !loaded || !state.sessions.length ? "" : filtered
    ? t("sessions.matching", { shown: shown.length, loaded: state.sessions.length })
    : t(state.cursor ? "sessions.shownMore" : "sessions.shown", { shown: shown.length, ...counted(shown.length) });
  show($("#more"), Boolean(state.cursor));
  show($("#lock-all"), loaded && can("lockAll"));
}

function sessionRow(session) {
  const editable = can("edit") && session.status === "to_account";
  const statusText = t(`status.${session.status}`);
  const extra = editable
    ? h("input", {
        type: "number", step: "1", min: "-10080", max: "10080", class: "extra",
        value: String(session.extra_minutes), "aria-label": t("col.extra"),
        onchange: (event) => adjust(session, { extra_minutes: readInteger(event.target.value) }, event.target),
      })
    : h("span", {}, String(session.extra_minutes));
  const notes = editable
    ? h("input", {
        type: "text", maxlength: "2000", class: "notes", value: session.notes || "", "aria-label": t("col.notes"),
        onchange: (event) => adjust(session, { notes: event.target.value }, event.target),
      })
    : h("span", { class: "notes-text", title: session.notes || "" }, session.notes || "");
  const lockable = can("lock") && session.status === "to_account";
  const lockWords = session.status === "accounted" ? t("sessions.locked", { when: when(session.locked_at) }) : t("sessions.lock");
  const lock = h("button", {
    type: "button", class: `lock ${session.status}`, disabled: !lockable, title: lockWords, "aria-label": lockWords,
    onclick: lockable ? (event) => lockOne(session, event.currentTarget) : null,
  }, padlock(session.status === "accounted"));
  const details = h("button", { type: "button", class: "link details", onclick: () => openDrawer(session) }, t("sessions.details"));
  const end = sameDay(session.started_at, session.ended_at) ? clock(session.ended_at) : when(session.ended_at);
  return h("tr", { dataset: { sessionId: session.session_id, status: session.status }, class: session.status },
    cell("col.status", { class: "status-cell" }, h("span", { class: `marker ${session.status}`, role: "img", "aria-label": statusText }), " ", h("span", { class: "status-text" }, statusText)),
    cell("col.technician", { class: "technician" }, session.technician),
    cell("col.computer", { class: "computer" }, session.computer_id),
    cell("col.when", { class: "start" }, `${when(session.started_at)} – ${end}`),
    cell("col.connection", { class: "num connection", title: `${session.connection_seconds} s` }, duration(session.connection_seconds)),
    cell("col.extra", { class: "num extra-cell" }, extra),
    cell("col.total", { class: "num total", title: `${session.total_seconds} s` }, duration(session.total_seconds)),
    cell("col.billed", { class: "num billed" }, session.billed_minutes === null || session.billed_minutes === undefined ? "—" : hours(session.billed_minutes)),
    cell("col.cost", { class: "num cost" }, money(session.cost, session.cost === null ? null : session.currency)),
    cell("col.notes", { class: "notes-cell" }, notes),
    cell("col.actions", { class: "lock-cell" }, details, lock),
  );
}

/** "15" → 15; anything else is sent as typed so the API names the problem. */
function readInteger(text) {
  return /^\s*-?\d+\s*$/.test(text) ? Number.parseInt(text, 10) : text;
}

function rowOf(sessionId) {
  return $$("#sessions tbody tr[data-session-id]").find((row) => row.dataset.sessionId === sessionId);
}

/** An error shown on its own line right under the session's row (the whole width, wrapped); it
stays there, in the page's language, until the row changes again. */
const rowErrors = new Map();
function errorRow(sessionId, columns, error) {
  const line = h("td", { colSpan: columns, role: "alert" });
  showError(line, error);
  return h("tr", { class: "row-error", dataset: { errorFor: sessionId } }, line);
}

function rowError(sessionId, error) {
  if (error) rowErrors.set(sessionId, error); else rowErrors.delete(sessionId);
  const row = rowOf(sessionId);
  if (!row) { if (error) showError($("#sessions-error"), error); return; }
  const next = row.nextElementSibling;
  if (next && next.classList.contains("row-error")) next.remove();
  if (error) row.after(errorRow(sessionId, row.children.length, error));
}

function replaceSession(updated) {
  const index = state.sessions.findIndex((s) => s.session_id === updated.session_id);
  if (index >= 0) state.sessions[index] = updated;
  rowErrors.delete(updated.session_id);
  const row = rowOf(updated.session_id);
  if (!row) return;
  const next = row.nextElementSibling;
  if (next && next.classList.contains("row-error")) next.remove();
  row.replaceWith(sessionRow(updated));
}

async function adjust(session, change, input) {
  if (change.extra_minutes === "") { input.value = String(session.extra_minutes); return; } // emptied: nothing to say
  if (Object.entries(change).every(([name, value]) => (session[name] ?? "") === value)) return; // unchanged
  rowError(session.session_id, null);
  input.classList.remove("invalid");
  input.disabled = true;
  try {
    const { data } = await api("PATCH", `/sessions/${encodeURIComponent(session.session_id)}`, { body: change });
    replaceSession(data);
    const row = rowOf(data.session_id);
    if (row) row.classList.add("saved");
    loadTotals();
  } catch (error) {
    input.disabled = false;
    input.classList.add("invalid");
    rowError(session.session_id, error);
    input.focus();
  }
}

async function lockOne(session, button) {
  rowError(session.session_id, null);
  button.disabled = true;
  try {
    const { data } = await api("POST", `/sessions/${encodeURIComponent(session.session_id)}/lock`);
    replaceSession(data);
    loadTotals();
  } catch (error) {
    button.disabled = false;
    rowError(session.session_id, error);
  }
}

/** Every session still to account in a period: what lock-all will lock. */
async function pendingOf(group, from, to) {
  const found = [];
  let cursor = null;
  do {
    const { data } = await api("GET", `/groups/${encodeURIComponent(group)}/sessions`, {
      query: { from, to, status: "to_account", limit: 1000, cursor },
    });
    found.push(...(data.sessions || []));
    cursor = data.next_cursor || null;
  } while (cursor);
  return found;
}

function groupName(groupId) {
  return (state.groups.find((g) => g.group_id === groupId) || {}).name || groupId;
}

/** Locks every to-account session of a client's period, after saying what that is; a job is followed. */
async function lockAllOf(group, period, resultBox, progressBox) {
  const { from, to } = period;
  notice(resultBox, "lockall.counting");
  const pending = await pendingOf(group, from, to);
  clearMessage(resultBox);
  if (!pending.length) { notice(resultBox, "lockall.nothing"); return null; }
  const billed = pending.reduce((sum, s) => sum + (s.billed_minutes || 0), 0);
  const priced = pending.filter((s) => s.cost !== null && s.cost !== undefined);
  const currency = priced.length ? priced[0].currency : null;
  const words = () => ({ ...counted(pending.length), group: groupName(group), period: periodText(period), billed: hours(billed),
    cost: money(centsText(priced.reduce((sum, s) => sum + cents(s.cost), 0n)), currency) });
  const ok = await confirmDialog(() => t(priced.length ? "lockall.confirm" : "lockall.confirmSub", words()), { ok: "lockall.ok" });
  if (!ok) return null;
  const body = {};
  if (from) body.from = from;
  if (to) body.to = to;
  const answer = await api("POST", `/groups/${encodeURIComponent(group)}/lock-all`, { body });
  const data = await jobResult(answer, progressBox);
  const done = () => ({ ...counted(data.locked ?? 0), billed: hours(data.billed_minutes ?? 0), cost: moneyOf(data, currency) });
  notice(resultBox, data.cost === null && !(data.costs || []).length ? "lockall.doneSub" : "lockall.done", done);
  return data;
}

async function lockAll() {
  const query = state.query;
  const button = $("#lock-all");
  const result = $("#lock-all-result");
  clearMessage($("#sessions-error"), result);
  if (!query) return;
  button.disabled = true;
  try {
    const data = await lockAllOf(query.group, query, result, result);
    if (data) {
      state.sessions = [];
      state.cursor = null;
      await Promise.all([loadPage(), loadTotals()]);
    }
  } catch (error) {
    clearMessage(result);
    showError($("#sessions-error"), error);
  } finally {
    button.disabled = false;
  }
}

/** A question in a dialog that fits the screen: answers true (ok), "alt" (a second choice) or false. */
function confirmDialog(words, { ok = "confirm.ok", alt = null } = {}) {
  const dialog = $("#confirm");
  say($("#confirm-text"), words);
  say($("#confirm-ok"), () => t(ok));
  say($("#confirm-cancel"), () => t("confirm.cancel"));
  if (alt) say($("#confirm-alt"), () => t(alt)); else show($("#confirm-alt"), false);
  return new Promise((resolve) => {
    const finish = (answer) => () => { dialog.close(); resolve(answer); };
    $("#confirm-ok").onclick = finish(true);
    $("#confirm-alt").onclick = finish("alt");
    $("#confirm-cancel").onclick = finish(false);
    dialog.oncancel = () => resolve(false);
    dialog.showModal();
    $("#confirm-cancel").focus();
  });
}

// ---------------------------------------------------------------- the session drawer

const ACTIONS = ["recorded", "adjusted", "locked", "contract_assigned", "recharged", "profile_version_applied"];

async function openDrawer(session) {
  const dialog = $("#drawer");
  clearMessage($("#drawer-error"));
  say($("#drawer-title"), () => t("drawer.title", { id: session.session_id }));
  const figures = () => [
    ["col.technician", session.technician], ["col.computer", session.computer_id],
    ["col.when", `${when(session.started_at)} – ${when(session.ended_at)}`],
    ["col.connection", duration(session.connection_seconds)], ["col.extra", String(session.extra_minutes)],
    ["col.billed", session.billed_minutes === null ? "—" : hours(session.billed_minutes)],
    ["col.cost", money(session.cost, session.cost === null ? null : session.currency)],
    ["drawer.profile", session.profile_id ? `${session.profile_id} v${session.profile_version}` : "—"],
  ];
  const renderFigures = () => $("#drawer-figures").replaceChildren(...figures().flatMap(([key, value]) => [h("dt", {}, t(key)), h("dd", {}, value)]));
  renderFigures();
  $("#drawer-figures")._words = () => { renderFigures(); return $("#drawer-figures").textContent; };
  spoken.add($("#drawer-figures"));
  $("#drawer-pricing").replaceChildren();
  $("#drawer-history").replaceChildren();
  dialog.showModal();
  try {
    const [{ data: fresh }, { data: audit }] = await Promise.all([
      api("GET", `/sessions/${encodeURIComponent(session.session_id)}`),
      api("GET", `/sessions/${encodeURIComponent(session.session_id)}/history`),
    ]);
    renderPricing(fresh);
    renderAudit(audit.history || []);
  } catch (error) {
    showError($("#drawer-error"), error);
  }
}

function renderPricing(session) {
  const list = $("#drawer-pricing");
  const lines = session.pricing && Array.isArray(session.pricing.lines) ? session.pricing.lines : null;
  // The API's lines (the arithmetic), then the figure they make and the profile version that made it.
  const summary = h("li", { class: `muted ${lines ? "pricing-summary" : "pricing-none"}` });
  const items = (lines || []).map((line) => pricingLine(line, session.currency, true));
  list.replaceChildren(...items, summary);
  say(summary, () => (session.cost === null && session.status === "to_account" && !session.profile_id ? t("drawer.noContract")
    : t("drawer.priceSummary", { billed: session.billed_minutes === null ? "—" : hours(session.billed_minutes), cost: money(session.cost, session.cost === null ? null : session.currency), profile: session.profile_id || "—", version: session.profile_version ?? "—" })));
}

// ---------------------------------------------------------------- a price explained (pricing.lines of SPEC §10)

/** A line's durations to the second, as the API's own text has them: "40 min", "40 min 30 s". */
function span(seconds) {
  const minutes = Math.floor(seconds / 60), rest = seconds % 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

// Each line code's words (price.<code> in i18n.js) and their figures from the line's `values`:
// money and multipliers by the page's decimal separator, durations in minutes.
const PRICE_LINES = {
  extra_minutes: (v) => ({ connection: span(v.whole("connection_seconds")), sign: v.number("extra_minutes") < 0 ? "−" : "+",
    extra: Math.abs(v.number("extra_minutes")), total: span(v.whole("total_seconds")) }),
  initial_step: (v) => ({ minutes: v.whole("minutes"), amount: v.decimal("amount") }),
  steps: (v) => ({ count: v.whole("count"), step_minutes: v.whole("step_minutes"), step_cost: v.decimal("step_cost"), amount: v.decimal("amount") }),
  surcharge_share: (v) => ({ name: v.text("name"), multiplier: v.decimal("multiplier"), minutes: v.whole("minutes"), connection_minutes: v.whole("connection_minutes") }),
  surcharge_share_time: (v) => ({ name: v.text("name"), multiplier: v.decimal("multiplier"), covered: span(v.whole("seconds")), connection: span(v.whole("connection_seconds")) }),
  multiplier: (v) => ({ base: v.decimal("base"), multiplier: v.decimal("multiplier"), amount: v.decimal("amount") }),
  no_billable_time: (v) => ({ amount: v.decimal("amount") }),
  no_billable_minutes: (v) => ({ minutes: v.whole("minutes") }),
  balance_steps: (v) => ({ duration: span(v.whole("seconds")), step_minutes: v.whole("step_minutes"), minutes: v.whole("minutes") }),
  balance_steps_surcharged: (v) => ({ duration: span(v.whole("seconds")), multiplier: v.decimal("multiplier"), step_minutes: v.whole("step_minutes"), minutes: v.whole("minutes") }),
  covered_by_balance: (v) => ({ minutes: v.whole("minutes") }),
  overage: (v) => ({ minutes: v.whole("minutes"), count: v.whole("count"), step_minutes: v.whole("step_minutes"), step_cost: v.decimal("step_cost"), amount: v.decimal("amount") }),
  accounted: (v) => ({ minutes: v.number("minutes"), amount: v.has("amount") ? v.decimal("amount") : null }),
};
const PRICE_LINE_KEYS = { accounted: (params) => (params.amount === null ? "price.accountedMinutes" : "price.accounted") };

/** A line's values, read strictly: a value missing or of the wrong kind makes the line fall back to its text. */
function lineValues(values) {
  const take = (name, valid) => {
    if (!valid(values[name])) throw new TypeError(`pricing line value ${name}`);
    return values[name];
  };
  return {
    has: (name) => values[name] !== undefined && values[name] !== null,
    number: (name) => take(name, Number.isInteger),
    whole: (name) => take(name, (value) => Number.isInteger(value) && value >= 0),
    decimal: (name) => money(take(name, (value) => typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value))),
    text: (name) => take(name, (value) => typeof value === "string"),
  };
}

/** A line of `pricing.lines` in the page's language, from its code and values; its English text
 * when it has no code (frozen before codes existed), a code this console does not know, or odd values. */
function priceLineWords(line) {
  const words = line && typeof line.code === "string" && Object.hasOwn(PRICE_LINES, line.code) ? PRICE_LINES[line.code] : null;
  if (!words || !line.values || typeof line.values !== "object") return line.text;
  try {
    const params = words(lineValues(line.values));
    return t((PRICE_LINE_KEYS[line.code] || (() => `price.${line.code}`))(params), params);
  } catch (unreadable) {
    return line.text;
  }
}

/** One line of an explanation: its words and, when it has one, its amount; both follow the page's language. */
function pricingLine(line, currency, live) {
  const words = h("span", { class: "words" });
  const amount = line.amount !== undefined && line.amount !== null ? h("span", { class: "num" }) : null;
  const item = h("li", { class: "pricing-line", dataset: line.code ? { code: line.code } : {} }, words, amount);
  if (live) { // the drawer stays open across a language switch; the quote is re-rendered whole
    say(words, () => priceLineWords(line), false);
    if (amount) say(amount, () => money(line.amount, currency), false);
  } else {
    words.textContent = priceLineWords(line);
    if (amount) amount.textContent = money(line.amount, currency);
  }
  return item;
}

function actorWords(entry) {
  const role = entry.role ? t(`role.${entry.role}`) : "";
  return entry.actor_label ? `${entry.actor_label} (${role})` : role || "—";
}

function changeWords(changes) {
  return Object.entries(changes || {}).map(([name, change]) => {
    const value = (v) => (v === null || v === undefined || v === "" ? "—" : String(v));
    return change && typeof change === "object" && "after" in change
      ? `${fieldName(name)}: ${value(change.before)} → ${value(change.after)}` : `${fieldName(name)}: ${value(change)}`;
  }).join("; ");
}

function renderAudit(entries) {
  $("#drawer-history").replaceChildren(...entries.map((entry) => {
    const item = h("li", { class: "history-entry" });
    say(item, () => `${when(entry.at)} · ${ACTIONS.includes(entry.action) ? t(`action.${entry.action}`) : entry.action} · ${actorWords(entry)} — ${changeWords(entry.changes)}`);
    return item;
  }));
}

// ---------------------------------------------------------------- totals, balance, recharge

async function loadTotals() {
  const query = state.query;
  if (!query) return;
  const seq = ++state.totalsSeq;
  clearMessage($("#totals-error"));
  try {
    const { data } = await api("GET", `/groups/${encodeURIComponent(query.group)}/totals`, { query: { from: query.from, to: query.to } });
    if (seq !== state.totalsSeq) return;
    state.totals = data;
  } catch (error) {
    if (seq !== state.totalsSeq) return;
    state.totals = null;
    showError($("#totals-error"), error);
  }
  renderTotals();
}

function contractWords(contract) {
  if (!contract) return t("totals.noContract");
  const name = contract.profile_name || (contract.profile && (contract.profile.name || contract.profile.profile_id)) || contract.profile || contract.profile_id || "";
  return t("totals.contractLine", { name, version: contract.profile_version ?? "—", type: t(`type.${contract.type}`), currency: contract.currency });
}

function renderTotals() {
  const totals = state.totals;
  const contract = totals && totals.contract;
  const currency = contract ? contract.currency : null;
  $("#totals-contract").textContent = totals ? contractWords(contract) : "";
  for (const element of $$("[data-total]")) {
    const [line, figure] = element.dataset.total.split(".");
    const value = totals ? totals[line][figure] : null;
    element.textContent = value === null || value === undefined ? "" :
      figure === "total_seconds" ? duration(value) :
      figure === "billed_minutes" ? hours(value) :
      figure === "cost" ? (contract && contract.type === "subscription" ? "—" : moneyOf(totals[line], currency)) : String(value);
  }
  const balance = totals && totals.balance;
  show($("#balance"), Boolean(balance));
  if (!balance) return;
  for (const element of $$("[data-balance]")) {
    const name = element.dataset.balance;
    const value = balance[name];
    element.textContent = name === "amount" ? money(value, currency) : hours(value);
    element.title = name === "amount" || typeof value !== "number" ? "" : `${value} min`;
    element.classList.toggle("negative", name === "available_minutes" && value < 0);
  }
  $("#balance-words").textContent = balance.available_minutes < 0
    ? t("balance.overrun", { hours: hours(-balance.available_minutes) }) : t("balance.left", { hours: hours(balance.available_minutes) });
}

/** A "usable until (included)" day typed in the page's format → the next local midnight, when the
block stops covering sessions; "" when empty; null (after saying why) when it is not a date. */
function untilOf(input, errorBox, labelKey) {
  const typed = readDay(input.value);
  if (typed === null) {
    say(errorBox, () => t("filter.badDate", { field: t(labelKey), example: t("date.placeholder") }));
    input.focus();
    return null;
  }
  return typed ? localMidnight(typed, 1) : "";
}

async function recharge(event) {
  event.preventDefault();
  const errorBox = $("#recharge-error");
  const result = $("#recharge-result");
  clearMessage(errorBox, result);
  const query = state.query;
  if (!query) return;
  const hoursText = $("#recharge-hours").value.trim().replace(",", ".");
  const amount = $("#recharge-amount").value.trim().replace(",", ".");
  const body = { hours: hoursText, amount };
  const until = untilOf($("#recharge-expires"), errorBox, "recharge.expires");
  if (until === null) return;
  if (until) body.expires_at = until;
  try {
    const { data } = await api("POST", `/groups/${encodeURIComponent(query.group)}/recharges`, { body });
    const currency = state.totals?.contract?.currency;
    notice(result, "recharge.done", () => ({ hours: hours(Math.round(Number(data.hours) * 60)), amount: money(data.amount, currency) }));
    $("#recharge-hours").value = "";
    $("#recharge-amount").value = "";
    $("#recharge-expires").value = "";
    await loadTotals();
  } catch (error) {
    showError(errorBox, error);
    const input = { hours: $("#recharge-hours"), amount: $("#recharge-amount"), expires_at: $("#recharge-expires") }[error.field] || null;
    if (input) input.focus();
  }
}

// ---------------------------------------------------------------- export

/** An export: 201 with its link, 202 with an export to poll, or 202 with a job (SPEC §9). */
async function exportOf(group, body, progress) {
  let { status, data } = await api("POST", `/groups/${encodeURIComponent(group)}/exports`, { body });
  if (status === 202 && data.job_id) {
    // the job says when the file is whole; the export answers its link (fresh: links expire)
    const exportId = data.export_id;
    await jobResult({ status, data }, progress);
    ({ data } = await api("GET", `/exports/${encodeURIComponent(exportId)}`));
    return data;
  }
  for (let attempt = 0; status === 202 || (data.status && data.status !== "ready" && !data.url); attempt++) {
    say(progress, () => t("export.running"));
    if (data.status === "failed") throw new ApiError(409, (data.error && data.error.code) || "export_failed", (data.error && data.error.message) || "");
    if (attempt >= 120) throw new ApiError(409, "export_timeout", "");
    await new Promise((resolve) => setTimeout(resolve, 1000));
    ({ status, data } = await api("GET", `/exports/${encodeURIComponent(data.export_id)}`));
  }
  clearMessage(progress);
  return data;
}

async function exportCsv(event) {
  event.preventDefault();
  const query = state.query;
  const errorBox = $("#export-error");
  const running = $("#export-running");
  clearMessage(errorBox);
  show($("#export-result"), false);
  if (!query) return;
  const button = $("#export-submit");
  button.disabled = true;
  say(running, () => t("export.running"));
  try {
    const body = { delimiter: $("#delimiter").value };
    for (const name of ["from", "to", "status"]) if (query[name]) body[name] = query[name];
    const data = await exportOf(query.group, body, running);
    const link = $("#export-link");
    link.href = data.url;
    say(link, () => t("export.link", { rows: data.rows ?? "?" }), false);
    link.setAttribute("download", "");
    say($("#export-expires"), () => (data.expires_at ? t("export.expires", { when: when(data.expires_at) }) : ""), false);
    show($("#export-result"));
  } catch (error) {
    showError(errorBox, error);
  } finally {
    button.disabled = false;
    clearMessage(running);
  }
}

// ---------------------------------------------------------------- the month of every client

function defaultMonth() {
  const now = new Date();
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}`;
}

function monthPeriod(month) {
  const { fromDay, toDay } = monthDays(month);
  return { fromDay, toDay, from: localMidnight(fromDay), to: localMidnight(toDay, 1) };
}

let monthSeq = 0;

/** One row per client: GET /v1/totals (SPEC §9, paged), or, from an API without it, each client's totals. */
async function loadMonth() {
  const typed = readMonth($("#month").value);
  clearMessage($("#month-error"));
  if ($("#month").value.trim() && !typed) { say($("#month-error"), () => t("month.bad", { example: t("month.placeholder") })); return; }
  state.month = typed || state.month || defaultMonth();
  $("#month").value = monthText(state.month);
  const period = monthPeriod(state.month);
  const seq = ++monthSeq; // only the latest month asked is shown
  let rows = [];
  let overview = true;
  try {
    let cursor = null;
    do {
      const { data } = await api("GET", "/totals", { query: { from: period.from, to: period.to, cursor } });
      rows.push(...(data.groups || []));
      cursor = data.next_cursor || null;
    } while (cursor);
  } catch (error) {
    if (!(error instanceof ApiError && (error.status === 404 || error.status === 405))) { showError($("#month-error"), error); return; }
    overview = false; // no GET /v1/totals yet: every client's own totals
    try {
      state.groups = (await api("GET", "/groups")).data.groups || [];
      rows = await Promise.all(state.groups.map(async (group) => {
        const { data } = await api("GET", `/groups/${encodeURIComponent(group.group_id)}/totals`, { query: { from: period.from, to: period.to } });
        return { ...data, name: group.name };
      }));
    } catch (again) { showError($("#month-error"), again); return; }
  }
  if (seq !== monthSeq) return;
  state.monthRows = rows;
  if (overview) clearMessage($("#month-source")); else notice($("#month-source"), "month.fallback");
  renderMonth();
}

function renderMonth() {
  if (!state.month) return;
  $("#month-title").textContent = t("month.title", { month: monthName(state.month) });
  $("#month-table tbody").replaceChildren(...state.monthRows.map((row) => {
    const contract = row.contract;
    const currency = contract ? contract.currency : null;
    const open = h("button", { type: "button", class: "link open", onclick: () => openClientMonth(row.group_id) }, row.name || row.group_id);
    const lock = h("button", { type: "button", class: "danger lock-all", disabled: !row.to_account || !row.to_account.sessions,
      onclick: (event) => monthLockAll(row, event.currentTarget) }, t("lockall.button"));
    const exporting = h("button", { type: "button", class: "export", onclick: (event) => monthExport(row, event.currentTarget) }, t("export.submit"));
    const simulating = h("button", { type: "button", class: "link simulate", onclick: () => simulateFor(row.group_id) }, t("simulate.button"));
    const figures = (line) => (row[line] ? `${row[line].sessions} · ${contract && contract.type === "subscription" ? hours(row[line].billed_minutes) : moneyOf(row[line], currency)}` : "—");
    return h("tr", { dataset: { groupId: row.group_id } },
      cell("month.col.client", { class: "client" }, open),
      cell("month.col.contract", { class: "contract" }, contract ? `${contract.profile_name || contract.profile?.name || contract.profile || ""} · ${t(`type.${contract.type}`)}` : t("contracts.none")),
      cell("month.col.toAccount", { class: "num to-account" }, figures("to_account")),
      cell("month.col.accounted", { class: "num accounted" }, figures("accounted")),
      cell("month.col.balance", { class: `num balance${row.balance && row.balance.available_minutes < 0 ? " negative" : ""}` }, row.balance ? hours(row.balance.available_minutes) : "—"),
      cell("col.actions", { class: "row-actions" }, lock, " ", exporting, " ", simulating));
  }));
}

function openClientMonth(groupId) {
  const { fromDay, toDay } = monthDays(state.month);
  showView("sessions");
  $("#group").value = groupId;
  $("#status").value = "";
  setDays(fromDay, toDay);
  search();
}

async function monthLockAll(row, button) {
  clearMessage($("#month-result"), $("#month-error"));
  button.disabled = true;
  try {
    const data = await lockAllOf(row.group_id, monthPeriod(state.month), $("#month-result"), $("#month-progress"));
    if (data) await loadMonth();
  } catch (error) {
    showError($("#month-error"), error);
  } finally {
    button.disabled = false;
  }
}

async function monthExport(row, button) {
  clearMessage($("#month-error"));
  show($("#month-export"), false);
  button.disabled = true;
  try {
    const period = monthPeriod(state.month);
    const data = await exportOf(row.group_id, { from: period.from, to: period.to }, $("#month-progress"));
    const link = $("#month-export-link");
    link.href = data.url;
    link.setAttribute("download", "");
    say(link, () => t("month.exportLink", { client: row.name || row.group_id, rows: data.rows ?? "?" }), false);
    show($("#month-export"));
  } catch (error) {
    showError($("#month-error"), error);
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- clients, computers, contracts (admins)

async function loadClients() {
  clearMessage($("#clients-error"));
  try {
    const [{ data: groups }, { data: profiles }] = await Promise.all([api("GET", "/groups"), api("GET", "/profiles")]);
    state.groups = groups.groups || [];
    state.profiles = profiles.profiles || [];
  } catch (error) {
    showError($("#clients-error"), error);
    return;
  }
  fillGroups();
  renderClients();
  if (state.client) await openClient(state.client);
}

function profileName(profileId) {
  const profile = state.profiles.find((p) => p.profile_id === profileId);
  return profile ? profile.name : profileId;
}

function renderClients() {
  show($("#clients-empty"), state.groups.length === 0);
  $("#clients tbody").replaceChildren(...state.groups.map((group) => {
    const name = h("input", { class: "name", value: group.name, maxlength: "200", "aria-label": t("clients.name") });
    return h("tr", { dataset: { groupId: group.group_id } },
      cell("clients.id", {}, h("code", {}, group.group_id)),
      cell("clients.name", { class: "name-cell" }, name),
      cell("clients.profile", {}, group.profile_id ? profileName(group.profile_id) : t("contracts.none")),
      cell("col.actions", { class: "row-actions" },
        h("button", { type: "button", class: "rename", onclick: () => saveClient(group.group_id, name.value, name) }, t("clients.rename")), " ",
        h("button", { type: "button", class: "link open", onclick: () => openClient(group.group_id) }, t("clients.open"))));
  }));
}

async function saveClient(groupId, name, input = null) {
  const errorBox = input ? $("#clients-error") : $("#client-form-error");
  clearMessage(errorBox, $("#clients-result"), $("#client-form-error"));
  try {
    const { status, data } = await api("PUT", `/groups/${encodeURIComponent(groupId)}`, { body: { name: name.trim() } });
    notice($("#clients-result"), status === 201 ? "clients.created" : "clients.renamed", { name: data.name });
    if (!input) { $("#client-id").value = ""; $("#client-name").value = ""; }
    await loadClients();
    return true;
  } catch (error) {
    showError(errorBox, error);
    (input || (error.field === "group_id" ? $("#client-id") : $("#client-name"))).focus();
    return false;
  }
}

async function openClient(groupId) {
  state.client = groupId;
  clearMessage($("#computers-error"), $("#contracts-error"));
  show($("#client-detail"));
  show($("#ledger-card"), false);
  try {
    const [{ data: computers }, { data: contracts }] = await Promise.all([
      api("GET", `/groups/${encodeURIComponent(groupId)}/computers`),
      api("GET", `/groups/${encodeURIComponent(groupId)}/contracts`),
    ]);
    state.computers = computers.computers || [];
    state.contracts = contracts.contracts || [];
  } catch (error) {
    showError($("#computers-error"), error);
  }
  renderClient();
  $("#client-detail").scrollIntoView({ block: "nearest" });
}

function renderClient() {
  const groupId = state.client;
  if (!groupId) return;
  say($("#client-title"), () => t("clients.detail", { name: groupName(groupId) }), false);
  $("#computers tbody").replaceChildren(...state.computers.map((computer) => {
    const name = h("input", { class: "name", value: computer.name, maxlength: "200", "aria-label": t("computers.name") });
    const target = h("select", { class: "move-to", "aria-label": t("computers.move") },
      ...state.groups.map((g) => h("option", { value: g.group_id, selected: g.group_id === groupId }, g.name)));
    return h("tr", { dataset: { computerId: computer.computer_id } },
      cell("computers.id", {}, h("code", {}, computer.computer_id)),
      cell("computers.name", { class: "name-cell" }, name, " ",
        h("button", { type: "button", class: "rename", onclick: () => putComputer(target.value === groupId ? groupId : groupId, computer.computer_id, name.value) }, t("computers.rename"))),
      cell("computers.move", { class: "move-cell" }, target, " ",
        h("button", { type: "button", class: "move", onclick: () => putComputer(target.value, computer.computer_id, name.value) }, t("computers.moveButton"))));
  }));
  const select = $("#assign-profile");
  const current = (state.groups.find((g) => g.group_id === groupId) || {}).profile_id;
  select.replaceChildren(...state.profiles.map((p) => h("option", { value: p.profile_id, selected: p.profile_id === current }, `${p.name} (${t(`type.${p.type}`)})`)));
  $("#contracts-list tbody").replaceChildren(...state.contracts.map((contract) => h("tr", { dataset: { contractId: contract.contract_id } },
    cell("contracts.col.contract", {}, h("code", {}, contract.contract_id)),
    cell("contracts.col.profile", {}, `${profileName(contract.profile_id)} v${contract.profile_version} · ${t(`type.${contract.type}`)}`),
    cell("contracts.col.period", {}, (contract.closed_at ? t("contracts.closed", { from: when(contract.assigned_at), to: when(contract.closed_at) }) : t("contracts.current", { from: when(contract.assigned_at) }))
      + (contract.valid_until ? ` · ${t("contracts.hoursUntil", { until: when(contract.valid_until) })}` : "")),
    cell("contracts.col.balance", { class: "num" }, contract.balance ? hours(contract.balance.available_minutes) : "—"),
    cell("col.actions", {}, contract.type === "subscription"
      ? h("button", { type: "button", class: "link ledger", onclick: () => showLedger(contract) }, t("contracts.ledger")) : "—"))));
}

async function putComputer(groupId, computerId, name) {
  clearMessage($("#computers-error"), $("#computers-result"));
  try {
    const { data } = await api("PUT", `/groups/${encodeURIComponent(groupId)}/computers/${encodeURIComponent(computerId)}`, { body: { name: name.trim() } });
    notice($("#computers-result"), data.group_id === state.client ? "computers.saved" : "computers.moved", () => ({ name: data.name, group: groupName(data.group_id) }));
    $("#computer-id").value = "";
    $("#computer-name").value = "";
    await openClient(state.client);
  } catch (error) {
    showError($("#computers-error"), error);
  }
}

async function assignProfile(balanceMode = null) {
  const groupId = state.client;
  const profileId = $("#assign-profile").value;
  clearMessage($("#contracts-error"), $("#contracts-result"));
  const body = { profile_id: profileId };
  if (balanceMode) body.balance = balanceMode;
  const until = untilOf($("#assign-valid-until"), $("#contracts-error"), "contracts.validUntil");
  if (until === null) return;
  if (until) body.valid_until = until;
  try {
    const { data } = await api("PUT", `/groups/${encodeURIComponent(groupId)}/contract`, { body });
    notice($("#contracts-result"), data.valid_until ? "contracts.doneUntil" : "contracts.done",
      () => ({ group: groupName(groupId), profile: data.profile_name || profileName(profileId), version: data.profile_version, until: when(data.valid_until) }));
    $("#assign-valid-until").value = "";
    await loadClients();
  } catch (error) {
    if (error.code === "balance_open" && !balanceMode) {
      // The old contract still holds hours (or an overrun): the admin says what becomes of them.
      const choice = await confirmDialog(() => `${describe(error)} ${t("contracts.balanceQuestion")}`, { ok: "contracts.carryOver", alt: "contracts.close" });
      if (choice) await assignProfile(choice === "alt" ? "close" : "carry_over");
      return;
    }
    showError($("#contracts-error"), error);
  }
}

const LEDGER_KINDS = ["allotment", "recharge", "deduction", "carry_over", "closing", "expiry", "overage"];

async function showLedger(contract) {
  clearMessage($("#ledger-error"));
  show($("#ledger-card"));
  say($("#ledger-title"), () => t("ledger.title", { contract: contract.contract_id }), false);
  const entries = [];
  try {
    let cursor = null;
    do {
      const { data } = await api("GET", `/groups/${encodeURIComponent(state.client)}/ledger`, { query: { contract_id: contract.contract_id, cursor } });
      entries.push(...(data.entries || []));
      cursor = data.next_cursor || null;
    } while (cursor);
  } catch (error) {
    showError($("#ledger-error"), error);
    return;
  }
  // An expiry not yet written (the block lapsed since the last entry) is shown, marked pending.
  const kindWords = (entry) => [
    LEDGER_KINDS.includes(entry.kind) ? t(`ledger.kind.${entry.kind}`) : entry.kind,
    entry.session_id,
    entry.expires_at && entry.kind !== "expiry" ? t("ledger.until", { until: when(entry.expires_at) }) : null,
    entry.pending ? t("ledger.pending") : null,
  ].filter(Boolean).join(" · ");
  const render = () => $("#ledger tbody").replaceChildren(...entries.map((entry) => h("tr", { dataset: { kind: entry.kind }, class: entry.pending ? "pending" : "" },
    cell("ledger.at", {}, when(entry.at)),
    cell("ledger.kind", { class: "kind" }, kindWords(entry)),
    cell("ledger.minutes", { class: `num${entry.minutes < 0 ? " negative" : ""}` }, `${entry.minutes > 0 ? "+" : ""}${hours(entry.minutes)}`),
    cell("ledger.amount", { class: "num" }, entry.amount === null || entry.amount === undefined ? "" : money(entry.amount, contract.currency)),
    cell("ledger.running", { class: `num running${entry.running_balance < 0 ? " negative" : ""}` }, hours(entry.running_balance)))));
  render();
  $("#ledger")._words = () => { render(); return ""; };
  spoken.add($("#ledger"));
}

// ---------------------------------------------------------------- profiles (admins)

const PROFILE_TYPES = {
  pay_per_use: ["currency", "min_duration_minutes", "initial_step_minutes", "initial_step_cost", "step_minutes", "step_cost"],
  subscription: ["currency", "min_duration_minutes", "total_hours", "amount", "step_minutes", "overage_step_cost"],
};
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"];
const MINUTE_FIELDS = new Set(["min_duration_minutes", "initial_step_minutes", "step_minutes"]);

function terms(profile) {
  const values = { ...profile };
  for (const name of ["initial_step_cost", "step_cost", "amount"]) if (name in values) values[name] = money(values[name], profile.currency);
  if ("total_hours" in values) values.total_hours = hours(Math.round(Number(values.total_hours) * 60));
  const words = [t(profile.type === "subscription" ? "profiles.terms.sub" : "profiles.terms.ppu", values)];
  const rules = profile.surcharges || [];
  if (rules.length) words.push(t("profiles.terms.rules", { rules: rules.map((r) => `${r.name} ×${money(r.multiplier)}`).join(", "), zone: profile.time_zone || "UTC" }));
  if (profile.overage_step_cost) words.push(t("profiles.terms.overage", { cost: money(profile.overage_step_cost, profile.currency) }));
  if ((profile.alert_thresholds || []).length) words.push(t("profiles.terms.alerts", { thresholds: profile.alert_thresholds.map((n) => `${n} %`).join(", ") }));
  return words.join("; ");
}

// ---------------------------------------------------------------- surcharge rules (rows of the profile form)

/** A label whose words follow the page's language (applyLanguage rewrites data-i18n). */
const i18nSpan = (key) => h("span", { dataset: { i18n: key } }, t(key));

/** "18h30", "18.30", "9:05", "18" → "18:30", "18:30", "09:05", "18:00"; anything else as typed (the API names it). */
function clockText(text) {
  const value = String(text || "").trim();
  const match = /^(\d{1,2})(?:\s*[h:.]\s*(\d{2})?)?$/i.exec(value);
  return match ? `${pad(Number(match[1]))}:${match[2] || "00"}` : value;
}

function ruleRow(rule = {}) {
  const days = h("fieldset", { class: "days" }, h("legend", {}, i18nSpan("rules.days")),
    ...DAYS.map((day) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: day, checked: (rule.days || []).includes(day) }), " ", i18nSpan(`day.${day}`))));
  const row = h("div", { class: "rule" },
    h("label", { class: "rule-name" }, i18nSpan("rules.name"), h("input", { dataset: { part: "name" }, maxlength: "200", value: rule.name || "" })),
    days,
    h("label", { class: "clock" }, i18nSpan("rules.from"), h("input", { dataset: { part: "from" }, size: "5", placeholder: "18:00", value: rule.from || "" })),
    h("label", { class: "clock" }, i18nSpan("rules.to"), h("input", { dataset: { part: "to" }, size: "5", placeholder: "24:00", value: rule.to || "" })),
    h("label", { class: "clock" }, i18nSpan("rules.multiplier"), h("input", { dataset: { part: "multiplier" }, size: "5", inputmode: "decimal", placeholder: "1.50",
      value: rule.multiplier ? money(rule.multiplier) : "" })),
    h("button", { type: "button", class: "link remove-rule", onclick: () => { row.remove(); numberRules(); } }, i18nSpan("rules.remove")));
  return row;
}

/** Each row's inputs are named as the API names them (surcharges[2].from), so its errors land on them. */
function numberRules() {
  $$("#surcharge-rules .rule").forEach((row, index) => {
    for (const input of $$("[data-part]", row)) input.name = `surcharges[${index}].${input.dataset.part}`;
    $("fieldset.days", row).name = `surcharges[${index}].days`;
  });
}

function readRules() {
  return $$("#surcharge-rules .rule").map((row) => ({
    name: $("[data-part=name]", row).value.trim(),
    days: $$("input[type=checkbox]:checked", row).map((box) => box.value),
    from: clockText($("[data-part=from]", row).value),
    to: clockText($("[data-part=to]", row).value),
    multiplier: $("[data-part=multiplier]", row).value.trim().replace(",", "."),
  }));
}

async function loadProfiles() {
  clearMessage($("#profiles-error"));
  try {
    const [{ data: profiles }, { data: groups }] = await Promise.all([api("GET", "/profiles"), api("GET", "/groups")]);
    state.profiles = profiles.profiles || [];
    state.groups = groups.groups || [];
  } catch (error) {
    showError($("#profiles-error"), error);
    return;
  }
  renderProfiles();
}

function renderProfiles() {
  $("#profiles tbody").replaceChildren(...state.profiles.map((profile) => h("tr", { dataset: { profileId: profile.profile_id } },
    cell("profiles.col.id", {}, h("code", {}, profile.profile_id)),
    cell("profiles.col.name", {}, profile.name),
    cell("profiles.col.type", {}, t(`type.${profile.type}`)),
    cell("profiles.col.version", { class: "num" }, profile.version),
    cell("profiles.col.terms", { class: "terms" }, terms(profile)),
    cell("col.actions", { class: "row-actions" },
      h("button", { type: "button", class: "link edit", onclick: () => openProfileForm(profile) }, t("profiles.edit")),
      h("button", { type: "button", class: "link history", onclick: () => showHistory(profile) }, t("profiles.history"))),
  )));
  show($("#profiles-empty"), state.profiles.length === 0);
}

let editing = null; // the profile being edited, or null when creating one

function openProfileForm(profile = null) {
  editing = profile;
  const form = $("#profile-form");
  form.reset();
  clearFieldErrors(form);
  clearMessage($("#profile-form-error"), $("#profiles-result"));
  form.dataset.mode = profile ? "edit" : "create";
  say($("#profile-form-title"), () => (profile ? t("profiles.form.edit", { id: profile.profile_id, version: profile.version + 1 }) : t("profiles.form.create")), false);
  if (profile) {
    for (const name of ["name", "type", "time_zone", ...PROFILE_TYPES[profile.type]]) {
      const input = form.elements.namedItem(name);
      if (input && profile[name] !== undefined && profile[name] !== null) input.value = String(profile[name]);
    }
    const holidays = profile.holidays || {};
    form.elements.namedItem("holidays.country").value = holidays.country || "";
    form.elements.namedItem("holidays.subdivision").value = holidays.subdivision || "";
    form.elements.namedItem("holidays.dates").value = (holidays.dates || []).map(dayText).join(", ");
    form.elements.namedItem("alert_thresholds").value = (profile.alert_thresholds || []).join(", ");
  }
  $("#surcharge-rules").replaceChildren(...((profile && profile.surcharges) || []).map((rule) => ruleRow(rule)));
  numberRules();
  showTypeFields();
  show(form);
  form.elements.namedItem("name").focus();
}

function showTypeFields() {
  const form = $("#profile-form");
  const type = form.elements.namedItem("type").value;
  for (const label of $$("[data-for-type]", form)) show(label, label.dataset.forType === type);
  for (const label of $$("[data-for-mode]", form)) show(label, label.dataset.forMode === form.dataset.mode);
}

function clearFieldErrors(form) {
  for (const small of $$(".field-error", form)) { spoken.delete(small); small.remove(); }
  for (const input of $$(".invalid, .invalid-set", form)) input.classList.remove("invalid", "invalid-set");
}

/** What a new version re-prices: the to-account sessions of every client on the profile (all dates). */
async function openSessionsOn(profileId) {
  const groups = state.groups.filter((g) => g.profile_id === profileId);
  const answers = await Promise.all(groups.map((g) => api("GET", `/groups/${encodeURIComponent(g.group_id)}/totals`)));
  let sessions = 0, minutes = 0, money_ = 0n, currency = null;
  for (const { data } of answers) {
    sessions += data.to_account.sessions;
    minutes += data.to_account.billed_minutes || 0;
    if (data.to_account.cost !== null && data.to_account.cost !== undefined) money_ += cents(data.to_account.cost);
    currency = currency || (data.contract && data.contract.currency);
  }
  return { clients: groups.length, sessions, minutes, cost: centsText(money_), currency };
}

/** The profile the form describes, as POST/PUT /v1/profiles take it (what is typed wrong is sent as
typed, so the API names the field). */
function profileBody(form) {
  const type = form.elements.namedItem("type").value;
  const value = (name) => form.elements.namedItem(name).value.trim();
  const body = { name: value("name"), type };
  for (const name of PROFILE_TYPES[type]) {
    const text = value(name);
    if (text === "") continue; // the API says which field is required
    body[name] = MINUTE_FIELDS.has(name) ? readInteger(text) : name === "currency" ? text.toUpperCase() : text.replace(",", ".");
  }
  if (value("time_zone")) body.time_zone = value("time_zone");
  const dates = value("holidays.dates").split(/[\s,;]+/).filter(Boolean).map((text) => readDay(text) || text);
  if (value("holidays.country") || value("holidays.subdivision") || dates.length) {
    body.holidays = { country: value("holidays.country").toUpperCase() || null, subdivision: value("holidays.subdivision") || null, dates };
  }
  const rules = readRules();
  if (rules.length || editing) body.surcharges = rules;
  if (type === "subscription" && value("alert_thresholds")) {
    body.alert_thresholds = value("alert_thresholds").split(/[\s,;%]+/).filter(Boolean).map(readInteger);
  }
  const id = value("profile_id");
  if (!editing && id) body.profile_id = id;
  return body;
}

/** An API error shown under the input it names ("surcharges[2].from" → the third rule's "from"), in
the page's language; false when no visible input of the form has that name. */
function fieldError(form, error) {
  let name = error.field;
  let target = null;
  while (name && !target) {
    const found = form.elements.namedItem(name);
    if (found && !(found instanceof RadioNodeList)) target = found;
    else if (/\[\d+\]$/.test(name)) name = name.replace(/\[\d+\]$/, ""); // alert_thresholds[1] → alert_thresholds
    else if (name === "holidays") name = "holidays.country";
    else if (name.startsWith("profile.")) name = name.slice("profile.".length); // a quoted inline profile
    else name = null;
  }
  const place = target && target.closest("fieldset.days, label");
  if (!place || place.closest("[hidden]")) return false;
  if (target.tagName !== "FIELDSET") target.classList.add("invalid");
  else target.classList.add("invalid-set");
  const small = h("small", { class: "field-error", role: "alert" });
  place.append(small);
  showError(small, error);
  (target.tagName === "FIELDSET" ? $("input", target) : target).focus();
  return true;
}

async function saveProfile(event) {
  event.preventDefault();
  const form = $("#profile-form");
  const errorBox = $("#profile-form-error");
  clearFieldErrors(form);
  clearMessage(errorBox);
  const body = profileBody(form);
  try {
    if (editing) {
      // A new version re-prices every open session of the clients on it: say how many and how much first.
      const profile = editing;
      const open = await openSessionsOn(profile.profile_id);
      if (open.sessions > 0) {
        const words = () => t(profile.type === "subscription" ? "profiles.reprice.sub" : "profiles.reprice", {
          ...counted(open.sessions), clients: open.clients, version: profile.version + 1, billed: hours(open.minutes), cost: money(open.cost, open.currency) });
        if (!(await confirmDialog(words, { ok: "profiles.reprice.ok" }))) return;
      }
    }
    const { data } = editing
      ? await api("PUT", `/profiles/${encodeURIComponent(editing.profile_id)}`, { body })
      : await api("POST", "/profiles", { body });
    show(form, false);
    editing = null;
    await loadProfiles();
    notice($("#profiles-result"), "profiles.saved", { id: data.profile_id, version: data.version });
  } catch (error) {
    if (!(error.field && fieldError(form, error))) showError(errorBox, error);
  }
}

async function showHistory(profile) {
  const card = $("#history");
  const errorBox = $("#history-error");
  clearMessage(errorBox);
  say($("#history-title"), () => t("profiles.historyTitle", { id: profile.profile_id }), false);
  const body = $("#history tbody");
  body.replaceChildren();
  show(card);
  let versions;
  try {
    versions = (await api("GET", `/profiles/${encodeURIComponent(profile.profile_id)}/versions`)).data.versions;
  } catch (error) { showError(errorBox, error); return; }
  versions = [...versions].sort((a, b) => b.version - a.version);
  body.replaceChildren(...versions.map((v) => h("tr", { dataset: { version: v.version } },
    cell("profiles.col.version", { class: "num" }, v.version), cell("profiles.col.name", {}, v.name), cell("profiles.col.type", {}, t(`type.${v.type}`)),
    cell("profiles.col.terms", { class: "terms" }, terms(v)), cell("profiles.col.created", {}, when(v.created_at)))));
  card.scrollIntoView({ block: "nearest" });
}

// ---------------------------------------------------------------- quotes (staff)

let quoteInline = null; // the profile form's terms, when "Try a quote" opened this screen: {name, body}
const FORM_PROFILE = "(form)"; // the quote select's value for them (no stored id has parentheses... nor needs to)

/** "02/11/2026 17:30" → {day: "2026-11-02", minutes: 1050}; "17:30" alone → {day: null, minutes}; else null. */
function readMoment(text) {
  const value = String(text || "").trim();
  const match = /^(?:(\S+)\s+)?(\d{1,2})[h:.](\d{2})$/i.exec(value);
  if (!match || Number(match[2]) > 24 || Number(match[3]) > 59) return null;
  const day = match[1] ? readDay(match[1]) : null;
  if (match[1] && !day) return null;
  return { day, minutes: Number(match[2]) * 60 + Number(match[3]) };
}

/** A local day and minute of the day → ISO 8601 with the browser's offset at that instant. */
function localInstant(dayIso, minutes) {
  const [year, month, date] = dayIso.split("-").map(Number);
  const moment = new Date(year, month - 1, date, Math.floor(minutes / 60), minutes % 60);
  const offset = -moment.getTimezoneOffset();
  const zone = `${offset >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}T${pad(moment.getHours())}:${pad(moment.getMinutes())}:00${zone}`;
}

function quoteRow() {
  const row = h("div", { class: "quote-session" },
    h("span", { class: "quote-n" }),
    h("label", { class: "moment" }, i18nSpan("quote.start"), h("input", { dataset: { part: "started_at" }, class: "moment", autocomplete: "off" })),
    h("label", { class: "moment" }, i18nSpan("quote.end"), h("input", { dataset: { part: "ended_at" }, class: "moment", autocomplete: "off" })),
    h("label", { class: "clock" }, i18nSpan("col.extra"), h("input", { dataset: { part: "extra_minutes" }, inputmode: "numeric", size: "5" })),
    h("button", { type: "button", class: "link remove-session", onclick: () => { row.remove(); numberQuoteRows(); } }, i18nSpan("quote.remove")));
  return row;
}

function numberQuoteRows() {
  $$("#quote-sessions .quote-session").forEach((row, index) => {
    $(".quote-n", row).textContent = `${index + 1}.`;
    for (const input of $$("[data-part]", row)) input.name = `sessions[${index}].${input.dataset.part}`;
    for (const input of $$("input.moment", row)) input.placeholder = t("quote.placeholder");
    $(".remove-session", row).hidden = index === 0 && $$("#quote-sessions .quote-session").length === 1;
  });
}

async function openQuote() {
  if (!$$("#quote-sessions .quote-session").length) { $("#quote-sessions").append(quoteRow()); numberQuoteRows(); }
  clearMessage($("#quote-error"));
  try {
    state.profiles = (await api("GET", "/profiles")).data.profiles || [];
  } catch (error) {
    showError($("#quote-error"), error);
  }
  fillQuoteProfiles();
}

function fillQuoteProfiles() {
  const select = $("#quote-profile");
  const previous = select.value;
  const options = state.profiles.map((p) => h("option", { value: p.profile_id }, `${p.name} (${t(`type.${p.type}`)}, v${p.version})`));
  if (quoteInline) options.unshift(h("option", { value: FORM_PROFILE }, t("quote.formProfile", { name: quoteInline.name || "—" })));
  select.replaceChildren(...options);
  if (quoteInline && state.quotePick === FORM_PROFILE) select.value = FORM_PROFILE;
  else if ([...select.options].some((o) => o.value === previous)) select.value = previous;
  state.quotePick = null;
}

/** "Try a quote" from the profile form: its terms, saved or not, priced inline. */
function quoteFromForm() {
  const body = profileBody($("#profile-form"));
  delete body.profile_id;
  quoteInline = { name: body.name, body };
  state.quotePick = FORM_PROFILE;
  showView("quote");
}

async function runQuote(event) {
  event.preventDefault();
  const form = $("#quote-form");
  clearFieldErrors(form);
  clearMessage($("#quote-error"));
  const sessions = [];
  for (const [index, row] of $$("#quote-sessions .quote-session").entries()) {
    const input = (part) => $(`[data-part=${part}]`, row);
    const start = readMoment(input("started_at").value);
    const end = readMoment(input("ended_at").value);
    for (const [moment, part, needsDay] of [[start, "started_at", true], [end, "ended_at", false]]) {
      if (moment && (moment.day || !needsDay)) continue;
      // Said here, at the field, in the page's format: the API would only see a malformed timestamp.
      const target = input(part);
      target.classList.add("invalid");
      const small = h("small", { class: "field-error", role: "alert" });
      target.closest("label").append(small);
      say(small, () => t("quote.badMoment", { field: fieldName(`sessions[${index}].${part}`), example: t("quote.placeholder") }));
      target.focus();
      return;
    }
    let endDay = end.day || start.day;
    if (!end.day && end.minutes < start.minutes) endDay = shiftDay(start.day, 1); // "23:00" to "01:00": the night through
    const session = { started_at: localInstant(start.day, start.minutes), ended_at: localInstant(endDay, end.minutes) };
    const extra = input("extra_minutes").value.trim();
    if (extra) session.extra_minutes = readInteger(extra);
    sessions.push(session);
  }
  const pick = $("#quote-profile").value;
  const body = pick === FORM_PROFILE && quoteInline ? { profile: quoteInline.body, sessions } : { profile_id: pick, sessions };
  if (pick === FORM_PROFILE && quoteInline) delete body.profile.name;
  try {
    const { data } = await api("POST", "/quotes", { body });
    state.quoted = { sessions, answers: data.sessions || [] };
    renderQuote();
    $("#quote-result").scrollIntoView({ block: "nearest" });
  } catch (error) {
    if (!(error.field && fieldError(form, error))) showError($("#quote-error"), error);
  }
}

function shiftDay(dayIso, by) {
  const [year, month, date] = dayIso.split("-").map(Number);
  const moved = new Date(year, month - 1, date + by, 12);
  return `${moved.getFullYear()}-${pad(moved.getMonth() + 1)}-${pad(moved.getDate())}`;
}

function renderQuote() {
  numberQuoteRows(); // placeholders in the page's language
  if (state.view === "quote") fillQuoteProfiles();
  const quoted = state.quoted;
  show($("#quote-result"), Boolean(quoted));
  if (!quoted) return;
  let total = 0n, billed = 0, currency = null, priced = false;
  $("#quote-lines").replaceChildren(...quoted.answers.map((answer, index) => {
    const asked = quoted.sessions[index];
    const period = `${when(asked.started_at)} – ${sameDay(asked.started_at, asked.ended_at) ? clock(asked.ended_at) : when(asked.ended_at)}`;
    if (answer.recorded === false) {
      return h("li", { class: "quoted-session below" }, h("div", { class: "quoted-head" }, h("span", {}, period), h("span", { class: "muted" }, t("quote.below"))));
    }
    billed += answer.billed_minutes;
    currency = answer.currency;
    if (answer.cost !== null && answer.cost !== undefined) { total += cents(answer.cost); priced = true; }
    const pricing = answer.pricing || { lines: [] };
    return h("li", { class: "quoted-session", dataset: { index } },
      h("div", { class: "quoted-head" },
        h("span", { class: "when" }, period),
        h("span", { class: "figures-line" },
          h("span", { class: "billed" }, t("quote.billed", { billed: hours(answer.billed_minutes) })), " · ",
          h("span", { class: "multiplier" }, `×${money(answer.multiplier)}`), " · ",
          h("strong", { class: "cost" }, answer.cost === null ? t("quote.fromBalance") : money(answer.cost, answer.currency)))),
      h("ul", { class: "pricing-lines" }, ...(pricing.lines || []).map((line) => pricingLine(line, answer.currency, false))));
  }));
  $("#quote-total").textContent = priced ? t("quote.total", { billed: hours(billed), cost: money(centsText(total), currency) }) : t("quote.totalSub", { billed: hours(billed) });
}

// ---------------------------------------------------------------- simulate (finance, admin)

async function loadSimulationChoices() {
  try {
    const [{ data: profiles }, { data: groups }] = await Promise.all([api("GET", "/profiles"), api("GET", "/groups")]);
    state.profiles = profiles.profiles || [];
    state.groups = groups.groups || [];
  } catch (error) {
    showError($("#simulate-error"), error);
    return;
  }
  const fill = (select, items, value, text) => {
    const previous = select.value;
    select.replaceChildren(...items.map((item) => h("option", { value: value(item) }, text(item))));
    if (items.some((item) => value(item) === previous)) select.value = previous;
  };
  fill($("#simulate-group"), state.groups, (g) => g.group_id, (g) => g.name);
  fill($("#simulate-profile"), state.profiles, (p) => p.profile_id, (p) => `${p.name} (${t(`type.${p.type}`)})`);
  if (!$("#simulate-from").value && !$("#simulate-to").value) {
    const { fromDay, toDay } = monthDays(state.month || defaultMonth());
    $("#simulate-from").value = dayText(fromDay);
    $("#simulate-to").value = dayText(toDay);
  }
}

/** From a row of the month: that client and that month, ready to pick a profile. */
function simulateFor(groupId) {
  const { fromDay, toDay } = monthDays(state.month || defaultMonth());
  $("#simulate-group").value = groupId;
  $("#simulate-from").value = dayText(fromDay);
  $("#simulate-to").value = dayText(toDay);
  $("#simulate").scrollIntoView({ block: "nearest" });
  $("#simulate-profile").focus();
}

async function runSimulation(event) {
  event.preventDefault();
  const errorBox = $("#simulate-error");
  clearMessage(errorBox);
  const fromDay = readDay($("#simulate-from").value);
  const toDay = readDay($("#simulate-to").value);
  if (fromDay === null || toDay === null) {
    say(errorBox, () => t("filter.badDate", { field: t(fromDay === null ? "filter.from" : "filter.to"), example: t("date.placeholder") }));
    return;
  }
  const body = { profile_id: $("#simulate-profile").value };
  if (fromDay) body.from = localMidnight(fromDay);
  if (toDay) body.to = localMidnight(toDay, 1);
  const groupId = $("#simulate-group").value;
  try {
    const { data } = await api("POST", `/groups/${encodeURIComponent(groupId)}/simulate`, { body });
    state.simulation = { groupId, period: { fromDay, toDay }, data };
  } catch (error) {
    state.simulation = null;
    showError(errorBox, error);
  }
  renderSimulation();
}

/** Accounted plus to-account: the period's figures, money per currency as the API gives it. */
function periodFigures(totals) {
  const lines = [totals.accounted, totals.to_account];
  const costs = new Map();
  for (const line of lines) for (const c of line.costs || []) costs.set(c.currency, (costs.get(c.currency) || 0n) + cents(c.amount));
  return {
    sessions: lines.reduce((n, l) => n + l.sessions, 0),
    billed: lines.reduce((n, l) => n + (l.billed_minutes || 0), 0),
    cost: costs.size ? [...costs].map(([c, amount]) => money(centsText(amount), c)).join(" + ") : money("0.00", totals.contract && totals.contract.currency),
  };
}

function renderSimulation() {
  const simulation = state.simulation;
  show($("#simulate-result"), Boolean(simulation));
  if (!simulation) return;
  const { current, simulated } = simulation.data;
  const side = (totals) => (totals.contract ? `${totals.contract.profile_name || totals.contract.profile_id} v${totals.contract.profile_version}` : t("contracts.none"));
  $("#simulate-heading").textContent = t("simulate.heading", { client: groupName(simulation.groupId), period: periodText(simulation.period) });
  $("#simulate-current-head").textContent = t("simulate.current", { profile: side(current) });
  $("#simulate-simulated-head").textContent = t("simulate.simulated", { profile: side(simulated) });
  const a = periodFigures(current), b = periodFigures(simulated);
  const rows = [
    ["sessions", "totals.sessions", a.sessions, b.sessions],
    ["billed", "totals.billed", hours(a.billed), hours(b.billed)],
    ["cost", "totals.cost", a.cost, b.cost],
  ];
  if (current.balance || simulated.balance) {
    const of = (balance, name) => (balance ? hours(balance[name]) : "—");
    rows.push(["available", "balance.available", of(current.balance, "available_minutes"), of(simulated.balance, "available_minutes")]);
    rows.push(["overage", "balance.overage", of(current.balance, "overage_minutes"), of(simulated.balance, "overage_minutes")]);
  }
  $("#simulate tbody").replaceChildren(...rows.map(([name, key, now, then]) => h("tr", { dataset: { figure: name } },
    h("th", {}, t(key)), h("td", { class: "num current" }, String(now)), h("td", { class: "num simulated" }, String(then)))));
}

// ---------------------------------------------------------------- balance alerts (finance, admin)

async function loadEvents() {
  clearMessage($("#events-error"));
  const events = [];
  try {
    let after = null;
    for (;;) {
      const { data } = await api("GET", "/events", { query: { after, limit: 1000 } });
      events.push(...(data.events || []));
      if (!data.next_cursor || (data.events || []).length < 1000) break;
      after = data.next_cursor;
    }
  } catch (error) {
    showError($("#events-error"), error);
    return;
  }
  state.events = events;
  renderEvents();
}

function renderEvents() {
  const events = [...(state.events || [])].reverse(); // newest first
  $("#events tbody").replaceChildren(...events.map((event) => {
    const detail = event.detail || {};
    return h("tr", { dataset: { eventId: event.event_id } },
      cell("events.at", {}, when(event.at)),
      cell("events.client", { class: "client" }, event.group_id ? groupName(event.group_id) : "—"),
      cell("events.what", { class: "what" }, event.type === "balance.threshold_crossed" ? t("events.crossed", { threshold: detail.threshold }) : event.type),
      cell("events.left", { class: `num left${detail.available_minutes < 0 ? " negative" : ""}` },
        detail.total_minutes ? t("events.leftOf", { left: hours(detail.available_minutes), total: hours(detail.total_minutes) }) : hours(detail.available_minutes)));
  }));
  if (events.length) clearMessage($("#events-empty")); else if (state.events) notice($("#events-empty"), "events.none");
}

// ---------------------------------------------------------------- tokens (admins)

async function loadTokens() {
  clearMessage($("#tokens-error"));
  try {
    state.tokens = (await api("GET", "/tokens")).data.tokens || [];
  } catch (error) {
    showError($("#tokens-error"), error);
    return;
  }
  renderTokens();
}

function renderTokens() {
  const sorted = [...state.tokens].sort((a, b) => (a.revoked_at ? 1 : 0) - (b.revoked_at ? 1 : 0) || (a.created_at < b.created_at ? 1 : -1));
  $("#tokens tbody").replaceChildren(...sorted.map((token) => {
    const mine = state.me && token.token_id === state.me.token_id;
    return h("tr", { dataset: { tokenId: token.token_id }, class: token.revoked_at ? "revoked" : "" },
      cell("tokens.label", { class: "label" }, token.label || t("tokens.noLabel")),
      cell("tokens.role", {}, t(`role.${token.role}`)),
      cell("tokens.created", {}, when(token.created_at)),
      cell("tokens.state", { class: "token-state" }, token.revoked_at ? t("tokens.revoked", { when: when(token.revoked_at) }) : mine ? t("tokens.yours") : t("tokens.active")),
      cell("col.actions", {}, token.revoked_at || mine ? "—"
        : h("button", { type: "button", class: "danger revoke", onclick: () => revokeToken(token) }, t("tokens.revoke"))));
  }));
}

async function issueToken(event) {
  event.preventDefault();
  clearMessage($("#token-error"), $("#tokens-result"));
  show($("#token-new"), false);
  try {
    const { data } = await api("POST", "/tokens", { body: { role: $("#token-role").value, label: $("#token-label").value.trim() } });
    // Shown once, here: the API keeps only its hash.
    say($("#token-new-text"), () => t("tokens.once", { label: data.label, role: t(`role.${data.role}`) }), false);
    $("#token-new-value").textContent = data.token;
    show($("#token-new"));
    $("#token-label").value = "";
    await loadTokens();
  } catch (error) {
    showError($("#token-error"), error);
    $("#token-label").focus();
  }
}

async function revokeToken(token) {
  clearMessage($("#tokens-error"), $("#tokens-result"));
  const ok = await confirmDialog(() => t("tokens.revokeConfirm", { label: token.label || token.token_id, role: t(`role.${token.role}`) }), { ok: "tokens.revoke" });
  if (!ok) return;
  try {
    await api("DELETE", `/tokens/${encodeURIComponent(token.token_id)}`);
    notice($("#tokens-result"), "tokens.revokedDone", { label: token.label || token.token_id });
    show($("#token-new"), false);
    await loadTokens();
  } catch (error) {
    showError($("#tokens-error"), error);
  }
}

// ---------------------------------------------------------------- wiring

function start() {
  const languages = $("#lang");
  languages.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => h("option", { value: code }, name)));
  state.lang = localStorage.getItem(LANG_KEY) in STRINGS ? localStorage.getItem(LANG_KEY) : preferredLanguage();
  languages.value = state.lang;
  languages.addEventListener("change", () => setLanguage(languages.value));
  applyLanguage();

  $("#signin-form").addEventListener("submit", (event) => { event.preventDefault(); signIn($("#token").value.trim()); });
  $("#signout").addEventListener("click", () => signOut());
  for (const tab of $$(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  $("#filter").addEventListener("submit", (event) => { event.preventDefault(); search(); });
  for (const id of ["#group", "#status", "#from", "#to"]) $(id).addEventListener("change", () => search());
  $("#text").addEventListener("input", () => renderSessions());
  for (const button of $$("#sessions .sort")) {
    button.addEventListener("click", () => {
      state.sort = { key: button.dataset.sort, dir: state.sort.key === button.dataset.sort ? -state.sort.dir : 1 };
      renderSessions();
    });
  }
  for (const button of $$("[data-period]")) button.addEventListener("click", () => setPeriod(button.dataset.period));
  $("#more").addEventListener("click", () => loadPage());
  $("#lock-all").addEventListener("click", () => lockAll());
  $("#totals-refresh").addEventListener("click", () => loadTotals());
  $("#recharge").addEventListener("submit", recharge);
  $("#export").addEventListener("submit", exportCsv);
  $("#month-form").addEventListener("submit", (event) => { event.preventDefault(); loadMonth(); });
  $("#month-prev").addEventListener("click", () => { state.month = shiftMonth(state.month || defaultMonth(), -1); $("#month").value = monthText(state.month); loadMonth(); });
  $("#month-next").addEventListener("click", () => { state.month = shiftMonth(state.month || defaultMonth(), 1); $("#month").value = monthText(state.month); loadMonth(); });
  $("#client-form").addEventListener("submit", (event) => { event.preventDefault(); saveClient($("#client-id").value.trim(), $("#client-name").value); });
  $("#computer-form").addEventListener("submit", (event) => { event.preventDefault(); putComputer(state.client, $("#computer-id").value.trim(), $("#computer-name").value); });
  $("#assign").addEventListener("click", () => assignProfile());
  $("#profile-new").addEventListener("click", () => openProfileForm(null));
  $("#profile-cancel").addEventListener("click", () => { show($("#profile-form"), false); editing = null; });
  $("#profile-form").addEventListener("submit", saveProfile);
  $("#profile-form").elements.namedItem("type").addEventListener("change", showTypeFields);
  $("#token-form").addEventListener("submit", issueToken);
  $("#surcharge-add").addEventListener("click", () => { $("#surcharge-rules").append(ruleRow()); numberRules(); $("#surcharge-rules .rule:last-child input").focus(); });
  $("#profile-quote").addEventListener("click", quoteFromForm);
  $("#quote-add").addEventListener("click", () => { $("#quote-sessions").append(quoteRow()); numberQuoteRows(); });
  $("#quote-form").addEventListener("submit", runQuote);
  $("#quote-profile").addEventListener("change", () => { if ($("#quote-profile").value !== FORM_PROFILE) { quoteInline = null; fillQuoteProfiles(); } });
  $("#simulate").addEventListener("submit", runSimulation);
  $("#events-refresh").addEventListener("click", () => loadEvents());
  $("#drawer-close").addEventListener("click", () => $("#drawer").close());

  const token = sessionStorage.getItem(TOKEN_KEY);
  signOut(); // the sign-in form, until the stored token (if any) is accepted again
  if (token) signIn(token);
  document.body.dataset.ready = "true";
  if (!inFlight) document.body.dataset.busy = "false";
}

start();
