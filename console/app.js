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

const CAN = {
  edit: ["admin", "technician"],
  lock: ["admin", "technician", "finance"],
  lockAll: ["admin", "finance"],
  export: ["admin", "finance"],
  recharge: ["admin"],
  profiles: ["admin"],
};

const state = {
  lang: "en",
  token: null,
  role: null,
  view: "sessions",
  groups: [],
  sessions: [],
  cursor: null,
  query: null, // the search the table shows: {group, from, to, status, technician}
  totals: null,
  profiles: [],
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

/** {sessions} and {s} of a sentence about `count` sessions. */
function counted(count) {
  return { sessions: t(count === 1 ? "word.session" : "word.sessions"), s: count === 1 ? "" : "s" };
}

function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const element of $$("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  document.title = t("app.title");
  if (state.role) $("#whoami").textContent = t("signedin", { role: t(`role.${state.role}`) });
}

function setLanguage(lang) {
  state.lang = lang in STRINGS ? lang : "en";
  localStorage.setItem(LANG_KEY, state.lang);
  $("#lang").value = state.lang;
  applyLanguage();
  renderSessions();
  renderTotals();
  if (state.role && can("profiles")) { renderProfiles(); renderContracts(); }
}

// ---------------------------------------------------------------- formats (money stays text)

/** Seconds as h:mm (a negative duration keeps its sign); minutes are floored. */
function hmm(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const sign = seconds < 0 ? "-" : "";
  const minutes = Math.floor(Math.abs(seconds) / 60);
  return `${sign}${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, "0")}`;
}

/** "12.50" + "EUR" → "12.50 EUR" (or "12,50 EUR" in French): the API's decimal text, never a float. */
function money(amount, currency) {
  if (amount === null || amount === undefined) return "—";
  const text = state.lang === "fr" ? String(amount).replace(".", ",") : String(amount);
  return currency ? `${text} ${currency}` : text;
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
  return new Intl.DateTimeFormat(state.lang === "fr" ? "fr-FR" : "en-GB", { dateStyle: "short", timeStyle: "short" }).format(date);
}

function clock(iso) {
  return new Intl.DateTimeFormat(state.lang === "fr" ? "fr-FR" : "en-GB", { timeStyle: "short" }).format(new Date(iso));
}

function sameDay(a, b) {
  return Boolean(a && b) && new Date(a).toDateString() === new Date(b).toDateString();
}

function day(iso) {
  return new Intl.DateTimeFormat(state.lang === "fr" ? "fr-FR" : "en-GB", { dateStyle: "medium" }).format(new Date(iso));
}

/** "2026-03-01" (+ days) → local midnight with its offset, as the API wants ("...T00:00:00+01:00"). */
function localMidnight(dateText, addDays = 0) {
  const [year, month, date] = dateText.split("-").map(Number);
  const moment = new Date(year, month - 1, date + addDays);
  const pad = (n) => String(n).padStart(2, "0");
  const offset = -moment.getTimezoneOffset();
  const zone = `${offset >= 0 ? "+" : "-"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  return `${moment.getFullYear()}-${pad(moment.getMonth() + 1)}-${pad(moment.getDate())}T00:00:00${zone}`;
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
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
    // A 400 says "field: reason": keep the field to show the error next to it.
    const named = status === 400 ? /^([a-z_]+): /.exec(message || "") : null;
    this.field = named ? named[1] : null;
  }
}

function describe(error) {
  if (!(error instanceof ApiError)) return String(error && error.message ? error.message : error);
  if (error.status === 0) return t("error.network", { message: error.message });
  const key = `error.${error.status}`;
  const head = key in STRINGS.en ? t(key) : t("error.other", { status: error.status });
  return error.message ? t("error.with", { head, message: error.message }) : head;
}

function showError(element, error) {
  element.textContent = describe(error);
  show(element);
}

function clearMessage(...elements) {
  for (const element of elements) { element.textContent = ""; show(element, false); }
}

function notice(element, text) {
  element.textContent = text;
  show(element);
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
    const error = new ApiError(response.status, detail.code || `http_${response.status}`, detail.message || (data && data.message) || text.slice(0, 200));
    if (response.status === 401 && state.role) expire(error);
    throw error;
  }
  if (data === null || typeof data !== "object") throw new ApiError(response.status, "bad_answer", t("error.badAnswer", { status: response.status }));
  return { status: response.status, data };
}

// ---------------------------------------------------------------- sign-in

/** The token's role: GET /v1/me, or (an API without it) the role named by a refused admin-only call. */
async function resolveRole() {
  try {
    const { data } = await api("GET", "/me");
    if (["admin", "technician", "finance", "agent"].includes(data.role)) return data.role;
  } catch (error) {
    if (!(error instanceof ApiError) || (error.status !== 404 && error.status !== 405)) throw error;
  }
  try {
    // An empty profile is always refused: 400 for an admin (nothing is written), 403 naming the role otherwise.
    await api("POST", "/profiles", { body: {} });
  } catch (error) {
    if (error.status === 400) return "admin";
    const named = error.status === 403 ? /\bthe (\w+) role\b/.exec(error.message) : null;
    if (named) return named[1];
    throw error;
  }
  return "admin";
}

async function signIn(token) {
  const errorBox = $("#signin-error");
  clearMessage(errorBox);
  if (!token) { notice(errorBox, t("signin.empty")); return; }
  state.token = token;
  notice($("#signin-error"), t("signin.checking"));
  let role;
  try {
    role = await resolveRole();
  } catch (error) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showError(errorBox, error);
    return;
  }
  clearMessage(errorBox);
  if (!["admin", "technician", "finance"].includes(role)) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    notice(errorBox, t("signin.agent"));
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  state.role = role;
  document.body.dataset.role = role;
  $("#token").value = "";
  applyRole();
  await loadGroups();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  Object.assign(state, { token: null, role: null, groups: [], sessions: [], cursor: null, query: null, totals: null, profiles: [] });
  delete document.body.dataset.role;
  // Leave nothing of the previous user's data on the page.
  renderSessions();
  renderTotals();
  for (const selector of ["#group", "#profiles tbody", "#contracts tbody", "#history tbody"]) $(selector).replaceChildren();
  for (const id of ["#sessions-view", "#profiles-view", "#nav", "#whoami", "#signout", "#export-result", "#profile-form", "#history"]) show($(id), false);
  clearMessage($("#lock-all-result"), $("#sessions-error"), $("#filter-error"), $("#totals-error"), $("#export-error"),
    $("#recharge-error"), $("#recharge-result"), $("#profiles-result"), $("#profiles-error"), $("#contracts-result"), $("#contracts-error"));
  $("#export-link").removeAttribute("href");
  show($("#signin-view"));
  clearMessage($("#signin-error"));
  if (message) notice($("#signin-error"), message);
  $("#token").focus();
}

function expire(error) {
  signOut(t("session.expired", { message: error.message }));
}

function applyRole() {
  show($("#signin-view"), false);
  show($("#nav"));
  show($("#whoami"));
  show($("#signout"));
  $("#whoami").textContent = t("signedin", { role: t(`role.${state.role}`) });
  show($("#tab-profiles"), can("profiles"));
  show($("#export"), can("export"));
  show($("#recharge"), can("recharge"));
  showView("sessions");
}

function showView(view) {
  if (view === "profiles" && !can("profiles")) view = "sessions";
  state.view = view;
  show($("#sessions-view"), view === "sessions");
  show($("#profiles-view"), view === "profiles");
  for (const tab of $$(".tab")) tab.classList.toggle("active", tab.dataset.view === view);
  if (view === "profiles") loadProfiles();
}

// ---------------------------------------------------------------- groups and the filter

async function loadGroups() {
  const select = $("#group");
  clearMessage($("#filter-error"));
  try {
    const { data } = await api("GET", "/groups");
    state.groups = data.groups || [];
  } catch (error) {
    showError($("#filter-error"), error);
    return;
  }
  const previous = select.value;
  select.replaceChildren(...state.groups.map((group) => h("option", { value: group.group_id }, `${group.name} (${group.group_id})`)));
  if (!state.groups.length) { notice($("#filter-error"), t("filter.noGroups")); return; }
  if (state.groups.some((group) => group.group_id === previous)) select.value = previous;
  await search();
}

function readFilter() {
  const from = $("#from").value;
  const to = $("#to").value;
  return {
    group: $("#group").value,
    from: from ? localMidnight(from) : "",
    to: to ? localMidnight(to, 1) : "", // the day shown is included: the API's `to` is exclusive
    fromDay: from,
    toDay: to,
    status: $("#status").value,
    technician: $("#technician").value.trim(),
  };
}

function setPeriod(which) {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  const text = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  if (which === "all") { $("#from").value = ""; $("#to").value = ""; }
  else {
    const first = new Date(now.getFullYear(), now.getMonth() + (which === "last" ? -1 : 0), 1);
    const last = new Date(first.getFullYear(), first.getMonth() + 1, 0);
    $("#from").value = text(first);
    $("#to").value = text(last);
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
  if (!query.group) return;
  state.query = query;
  state.sessions = [];
  state.cursor = null;
  clearMessage($("#sessions-error"), $("#lock-all-result"), $("#filter-error"), $("#export-error"));
  show($("#export-result"), false);
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
      query: { from: query.from, to: query.to, status: query.status, technician: query.technician, limit: PAGE_SIZE, cursor: state.cursor },
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

function renderSessions() {
  const body = $("#sessions tbody");
  if (!body) return;
  body.replaceChildren(...state.sessions.map(sessionRow));
  const loaded = state.query !== null;
  show($("#sessions-empty"), loaded && !state.sessions.length && !state.cursor);
  $("#sessions-count").textContent = loaded && state.sessions.length
    ? t(state.cursor ? "sessions.shownMore" : "sessions.shown", { shown: state.sessions.length, ...counted(state.sessions.length) }) : "";
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
  const lock = h("button", {
    type: "button",
    class: `lock ${session.status}`,
    disabled: !lockable,
    title: session.status === "accounted" ? t("sessions.locked", { when: when(session.locked_at) }) : t("sessions.lock"),
    "aria-label": session.status === "accounted" ? t("sessions.locked", { when: when(session.locked_at) }) : t("sessions.lock"),
    onclick: lockable ? (event) => lockOne(session, event.currentTarget) : null,
  }, padlock(session.status === "accounted"));
  return h("tr", { dataset: { sessionId: session.session_id, status: session.status }, class: session.status },
    h("td", {}, h("span", { class: `marker ${session.status}`, title: statusText, role: "img", "aria-label": statusText })),
    h("td", { class: "technician" }, session.technician),
    h("td", { class: "computer" }, session.computer_id),
    h("td", { class: "start" }, when(session.started_at)),
    h("td", { class: "end", title: when(session.ended_at) }, sameDay(session.started_at, session.ended_at) ? clock(session.ended_at) : when(session.ended_at)),
    h("td", { class: "num connection", title: `${session.connection_seconds} s` }, hmm(session.connection_seconds)),
    h("td", { class: "num extra-cell", title: hmm(session.extra_minutes * 60) }, extra),
    h("td", { class: "num total", title: `${session.total_seconds} s` }, hmm(session.total_seconds)),
    h("td", { class: "num billed" }, session.billed_minutes ?? "—"),
    h("td", { class: "num cost" }, money(session.cost, session.cost === null ? null : session.currency)),
    h("td", { class: "notes-cell" }, notes),
    h("td", { class: "lock-cell" }, lock),
  );
}

/** "15" → 15; anything else is sent as typed so the API names the problem. */
function readInteger(text) {
  return /^\s*-?\d+\s*$/.test(text) ? Number.parseInt(text, 10) : text;
}

function rowOf(sessionId) {
  return $$("#sessions tbody tr[data-session-id]").find((row) => row.dataset.sessionId === sessionId);
}

/** An error shown on its own line right under the session's row. */
function rowError(sessionId, error) {
  const row = rowOf(sessionId);
  if (!row) { showError($("#sessions-error"), error); return; }
  const next = row.nextElementSibling;
  if (next && next.classList.contains("row-error")) next.remove();
  if (!error) return;
  const cells = row.children.length;
  row.after(h("tr", { class: "row-error", dataset: { errorFor: sessionId } }, h("td", { colSpan: cells, role: "alert" }, describe(error))));
}

function replaceSession(updated) {
  const index = state.sessions.findIndex((s) => s.session_id === updated.session_id);
  if (index >= 0) state.sessions[index] = updated;
  const row = rowOf(updated.session_id);
  if (row) row.replaceWith(sessionRow(updated));
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

/** Every session still to account in the search the table shows: what lock-all will lock. */
async function pendingOfSearch(query) {
  const found = [];
  let cursor = null;
  do {
    const { data } = await api("GET", `/groups/${encodeURIComponent(query.group)}/sessions`, {
      query: { from: query.from, to: query.to, technician: query.technician, status: "to_account", limit: 1000, cursor },
    });
    found.push(...(data.sessions || []));
    cursor = data.next_cursor || null;
  } while (cursor);
  return found;
}

async function lockAll() {
  const query = state.query;
  const button = $("#lock-all");
  const result = $("#lock-all-result");
  clearMessage($("#sessions-error"), result);
  if (!query) return;
  button.disabled = true;
  try {
    notice(result, t("lockall.counting"));
    const pending = query.status === "accounted" ? [] : await pendingOfSearch(query);
    clearMessage(result);
    if (!pending.length) { notice(result, t("lockall.nothing")); return; }
    const billed = pending.reduce((sum, s) => sum + (s.billed_minutes || 0), 0);
    const subscription = pending.every((s) => s.cost === null);
    const currency = (pending.find((s) => s.cost !== null) || {}).currency;
    const cost = centsText(pending.reduce((sum, s) => sum + (s.cost === null ? 0n : cents(s.cost)), 0n));
    const group = (state.groups.find((g) => g.group_id === query.group) || { name: query.group }).name;
    const params = { count: pending.length, ...counted(pending.length), group, period: periodText(query), billed, cost: money(cost, currency) };
    if (!(await confirmDialog(t(subscription ? "lockall.confirmSub" : "lockall.confirm", params)))) return;
    const { data } = await api("POST", `/groups/${encodeURIComponent(query.group)}/lock-all`, {
      body: Object.fromEntries(Object.entries({ from: query.from, to: query.to, technician: query.technician }).filter(([, v]) => v)),
    });
    const done = { count: data.locked, ...counted(data.locked), billed: data.billed_minutes, cost: money(data.cost, currency) };
    await search();
    notice(result, t(data.cost === null ? "lockall.doneSub" : "lockall.done", done));
  } catch (error) {
    clearMessage(result);
    showError($("#sessions-error"), error);
  } finally {
    button.disabled = false;
  }
}

function confirmDialog(text) {
  const dialog = $("#confirm");
  $("#confirm-text").textContent = text;
  $("#confirm-ok").textContent = t("confirm.ok");
  $("#confirm-cancel").textContent = t("confirm.cancel");
  return new Promise((resolve) => {
    const finish = (answer) => () => { dialog.close(); resolve(answer); };
    $("#confirm-ok").onclick = finish(true);
    $("#confirm-cancel").onclick = finish(false);
    dialog.oncancel = () => resolve(false);
    dialog.showModal();
    $("#confirm-cancel").focus();
  });
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

function renderTotals() {
  const totals = state.totals;
  const contract = totals && totals.contract;
  const currency = contract ? contract.currency : null;
  $("#totals-contract").textContent = !totals ? "" : contract
    ? t("totals.contractLine", { name: contract.profile_name, version: contract.profile_version, type: t(`type.${contract.type}`), currency: contract.currency })
    : t("totals.noContract");
  for (const cell of $$("[data-total]")) {
    const [line, figure] = cell.dataset.total.split(".");
    const value = totals ? totals[line][figure] : null;
    cell.textContent = value === null || value === undefined ? "" :
      figure === "total_seconds" ? hmm(value) :
      figure === "cost" ? (contract && contract.type === "subscription" ? "—" : money(value, currency)) : String(value);
  }
  const balance = totals && totals.balance;
  show($("#balance"), Boolean(balance));
  if (!balance) return;
  for (const cell of $$("[data-balance]")) {
    const name = cell.dataset.balance;
    const value = balance[name];
    cell.textContent = name === "amount" ? money(value, currency) : hmm(value * 60);
    cell.title = name === "amount" ? "" : `${value} min`;
    cell.classList.toggle("negative", name === "available_minutes" && value < 0);
  }
}

async function recharge(event) {
  event.preventDefault();
  const errorBox = $("#recharge-error");
  const result = $("#recharge-result");
  clearMessage(errorBox, result);
  const query = state.query;
  if (!query) return;
  const hours = $("#recharge-hours").value.trim().replace(",", ".");
  const amount = $("#recharge-amount").value.trim().replace(",", ".");
  try {
    const { data } = await api("POST", `/groups/${encodeURIComponent(query.group)}/recharges`, { body: { hours, amount } });
    notice(result, t("recharge.done", { hours: data.hours, amount: money(data.amount, state.totals?.contract?.currency) }));
    $("#recharge-hours").value = "";
    $("#recharge-amount").value = "";
    await loadTotals();
  } catch (error) {
    showError(errorBox, error);
    const input = error.field === "hours" ? $("#recharge-hours") : error.field === "amount" ? $("#recharge-amount") : null;
    if (input) input.focus();
  }
}

// ---------------------------------------------------------------- export

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
  show(running);
  try {
    const body = { delimiter: $("#delimiter").value };
    for (const name of ["from", "to", "status"]) if (query[name]) body[name] = query[name];
    let { status, data } = await api("POST", `/groups/${encodeURIComponent(query.group)}/exports`, { body });
    // A large export may be prepared in the background: 202, then poll until it is ready.
    for (let attempt = 0; status === 202 || (data.status && data.status !== "ready" && !data.url); attempt++) {
      if (data.status === "failed") throw new Error(data.error && data.error.message ? `${t("error.exportFailed")}: ${data.error.message}` : t("error.exportFailed"));
      if (attempt >= 120) throw new Error(t("error.exportTimeout"));
      await new Promise((resolve) => setTimeout(resolve, 1000));
      ({ status, data } = await api("GET", `/exports/${encodeURIComponent(data.export_id)}`));
    }
    const link = $("#export-link");
    link.href = data.url;
    link.textContent = t("export.link", { rows: data.rows ?? "?" });
    link.setAttribute("download", "");
    $("#export-expires").textContent = data.expires_at ? t("export.expires", { when: when(data.expires_at) }) : "";
    show($("#export-result"));
  } catch (error) {
    showError(errorBox, error);
  } finally {
    button.disabled = false;
    show(running, false);
  }
}

// ---------------------------------------------------------------- profiles and contracts (admins)

const PROFILE_TYPES = {
  pay_per_use: ["currency", "min_duration_minutes", "initial_step_minutes", "initial_step_cost", "step_minutes", "step_cost"],
  subscription: ["currency", "min_duration_minutes", "total_hours", "amount", "step_minutes"],
};
const MINUTE_FIELDS = new Set(["min_duration_minutes", "initial_step_minutes", "step_minutes"]);

function terms(profile) {
  const values = { ...profile };
  for (const name of ["initial_step_cost", "step_cost", "amount"]) if (name in values) values[name] = money(values[name], profile.currency);
  return t(profile.type === "subscription" ? "profiles.terms.sub" : "profiles.terms.ppu", values);
}

async function loadProfiles() {
  clearMessage($("#profiles-error"), $("#contracts-error"));
  try {
    const [{ data: profiles }, { data: groups }] = await Promise.all([api("GET", "/profiles"), api("GET", "/groups")]);
    state.profiles = profiles.profiles || [];
    state.groups = groups.groups || [];
  } catch (error) {
    showError($("#profiles-error"), error);
    return;
  }
  renderProfiles();
  renderContracts();
}

function renderProfiles() {
  const body = $("#profiles tbody");
  body.replaceChildren(...state.profiles.map((profile) => h("tr", { dataset: { profileId: profile.profile_id } },
    h("td", {}, h("code", {}, profile.profile_id)),
    h("td", {}, profile.name),
    h("td", {}, t(`type.${profile.type}`)),
    h("td", { class: "num" }, profile.version),
    h("td", { class: "terms" }, terms(profile)),
    h("td", { class: "row-actions" },
      h("button", { type: "button", class: "link edit", onclick: () => openProfileForm(profile) }, t("profiles.edit")),
      h("button", { type: "button", class: "link history", onclick: () => showHistory(profile) }, t("profiles.history"))),
  )));
  show($("#profiles-empty"), state.profiles.length === 0);
}

function renderContracts() {
  const body = $("#contracts tbody");
  const byId = Object.fromEntries(state.profiles.map((p) => [p.profile_id, p]));
  body.replaceChildren(...state.groups.map((group) => {
    const select = h("select", { "aria-label": t("contracts.col.assign") },
      ...state.profiles.map((p) => h("option", { value: p.profile_id, selected: p.profile_id === group.profile_id }, `${p.name} (${p.profile_id})`)));
    const current = group.profile_id ? (byId[group.profile_id] ? `${byId[group.profile_id].name} (${group.profile_id})` : group.profile_id) : t("contracts.none");
    return h("tr", { dataset: { groupId: group.group_id } },
      h("td", {}, `${group.name} (${group.group_id})`),
      h("td", { class: "current" }, current),
      h("td", { class: "assign" }, select, " ",
        h("button", { type: "button", disabled: !state.profiles.length, onclick: (event) => assign(group, select.value, event.currentTarget) }, t("contracts.assign"))));
  }));
}

async function assign(group, profileId, button) {
  const errorBox = $("#contracts-error");
  const result = $("#contracts-result");
  clearMessage(errorBox, result);
  button.disabled = true;
  try {
    const path = `/groups/${encodeURIComponent(group.group_id)}/contract`;
    let data;
    try {
      ({ data } = await api("PUT", path, { body: { profile_id: profileId } }));
    } catch (error) {
      // The client still has minutes it paid for (or owes some): the admin says what becomes of them.
      if (error.code !== "balance_open") throw error;
      const target = state.profiles.find((p) => p.profile_id === profileId);
      const balance = target && target.type === "subscription" ? "carry_over" : "close";
      if (!window.confirm(t(`contracts.${balance}`, { group: group.name, detail: error.message }))) return;
      ({ data } = await api("PUT", path, { body: { profile_id: profileId, balance } }));
    }
    await loadProfiles();
    notice(result, t("contracts.done", { group: group.name, profile: data.profile_name, version: data.profile_version }));
  } catch (error) {
    showError(errorBox, error);
  } finally {
    button.disabled = false;
  }
}

let editing = null; // the profile being edited, or null when creating one

function openProfileForm(profile = null) {
  editing = profile;
  const form = $("#profile-form");
  form.reset();
  clearFieldErrors(form);
  clearMessage($("#profile-form-error"), $("#profiles-result"));
  form.dataset.mode = profile ? "edit" : "create";
  $("#profile-form-title").textContent = profile
    ? t("profiles.form.edit", { id: profile.profile_id, version: profile.version + 1 }) : t("profiles.form.create");
  if (profile) {
    for (const name of ["name", "type", ...PROFILE_TYPES[profile.type]]) {
      const input = form.elements.namedItem(name);
      if (input && profile[name] !== undefined && profile[name] !== null) input.value = String(profile[name]);
    }
  }
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
  for (const small of $$(".field-error", form)) small.remove();
  for (const input of $$(".invalid", form)) input.classList.remove("invalid");
}

async function saveProfile(event) {
  event.preventDefault();
  const form = $("#profile-form");
  const errorBox = $("#profile-form-error");
  clearFieldErrors(form);
  clearMessage(errorBox);
  const type = form.elements.namedItem("type").value;
  const body = { name: form.elements.namedItem("name").value.trim(), type };
  for (const name of PROFILE_TYPES[type]) {
    const text = form.elements.namedItem(name).value.trim();
    if (text === "") continue; // the API says which field is required
    body[name] = MINUTE_FIELDS.has(name) ? readInteger(text) : name === "currency" ? text.toUpperCase() : text.replace(",", ".");
  }
  const id = form.elements.namedItem("profile_id").value.trim();
  if (!editing && id) body.profile_id = id;
  try {
    const { data } = editing
      ? await api("PUT", `/profiles/${encodeURIComponent(editing.profile_id)}`, { body })
      : await api("POST", "/profiles", { body });
    show(form, false);
    editing = null;
    await loadProfiles();
    notice($("#profiles-result"), t("profiles.saved", { id: data.profile_id, version: data.version }));
  } catch (error) {
    const input = error.field ? form.elements.namedItem(error.field) : null;
    if (input && input.closest && input.closest("label") && !input.closest("label").hidden) {
      input.classList.add("invalid");
      input.closest("label").append(h("small", { class: "field-error", role: "alert" }, describe(error)));
      input.focus();
    } else {
      showError(errorBox, error);
    }
  }
}

async function showHistory(profile) {
  const card = $("#history");
  const errorBox = $("#history-error");
  clearMessage(errorBox);
  $("#history-title").textContent = t("profiles.historyTitle", { id: profile.profile_id });
  const body = $("#history tbody");
  body.replaceChildren();
  show(card);
  let versions;
  try {
    versions = (await api("GET", `/profiles/${encodeURIComponent(profile.profile_id)}/versions`)).data.versions;
  } catch (error) {
    if (error.status !== 404 && error.status !== 405) { showError(errorBox, error); return; }
    try { // an API without the versions route: read each version
      const numbers = Array.from({ length: profile.version }, (_, i) => i + 1);
      versions = await Promise.all(numbers.map(async (n) =>
        (await api("GET", `/profiles/${encodeURIComponent(profile.profile_id)}`, { query: { version: n } })).data));
    } catch (again) { showError(errorBox, again); return; }
  }
  versions = [...versions].sort((a, b) => b.version - a.version);
  body.replaceChildren(...versions.map((v) => h("tr", { dataset: { version: v.version } },
    h("td", { class: "num" }, v.version), h("td", {}, v.name), h("td", {}, t(`type.${v.type}`)),
    h("td", { class: "terms" }, terms(v)), h("td", {}, when(v.created_at)))));
  card.scrollIntoView({ block: "nearest" });
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
  for (const button of $$("[data-period]")) button.addEventListener("click", () => setPeriod(button.dataset.period));
  $("#more").addEventListener("click", () => loadPage());
  $("#lock-all").addEventListener("click", () => lockAll());
  $("#totals-refresh").addEventListener("click", () => loadTotals());
  $("#recharge").addEventListener("submit", recharge);
  $("#export").addEventListener("submit", exportCsv);
  $("#profile-new").addEventListener("click", () => openProfileForm(null));
  $("#profile-cancel").addEventListener("click", () => { show($("#profile-form"), false); editing = null; });
  $("#profile-form").addEventListener("submit", saveProfile);
  $("#profile-form").elements.namedItem("type").addEventListener("change", showTypeFields);

  const token = sessionStorage.getItem(TOKEN_KEY);
  signOut(); // the sign-in form, until the stored token (if any) is accepted again
  if (token) signIn(token);
  document.body.dataset.ready = "true";
  if (!inFlight) document.body.dataset.busy = "false";
}

start();
