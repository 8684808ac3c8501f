import { api } from "./api.js";
import { profileName } from "./clients.js";
import { h } from "./dom.js";
import { clearMessage, notice, showError } from "./errors.js";
import { duration, hours, money, when } from "./format.js";
import { historyItem } from "./history.js";
import { computerName } from "./names.js";
import { confirmDialog, replaceSession } from "./sessions.js";
import { $, can, ticket } from "./state.js";
import { loadTotals } from "./totals.js";
import { say, spoken, t } from "./words.js";

// ---------------------------------------------------------------- the session drawer

export const ACTIONS = ["recorded", "adjusted", "locked", "unlocked", "contract_assigned", "recharged", "profile_version_applied"];

export async function openDrawer(session) {
  const current = ticket("drawer");
  const dialog = $("#drawer");
  clearMessage($("#drawer-error"), $("#drawer-notice"));
  showUnlock(null);
  say($("#drawer-title"), () => t("drawer.title", { id: session.session_id }));
  const figures = () => [
    ["col.technician", session.technician], ["col.computer", computerName(session.group_id, session.computer_id) ? `${computerName(session.group_id, session.computer_id)} · ${session.computer_id}` : session.computer_id],
    ["col.when", `${when(session.started_at)} – ${when(session.ended_at)}`],
    ["col.connection", duration(session.connection_seconds)], ["col.extra", String(session.extra_minutes)],
    ["col.billed", session.billed_minutes === null ? "—" : hours(session.billed_minutes)],
    ["col.cost", money(session.cost, session.cost === null ? null : session.currency)],
    ["drawer.profile", session.profile_id ? `${profileName(session.profile_id)} · ${t("history.version", { version: session.profile_version })}` : "—"],
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
    if (!current()) return; // another session's drawer was opened meanwhile
    renderPricing(fresh);
    renderAudit(audit.history || [], fresh);
    showUnlock(fresh);
  } catch (error) {
    if (!current()) return;
    showError($("#drawer-error"), error);
  }
}

// An accounted session can be unlocked while its month is open and it is on no issued invoice (the
// API says which, in words): one confirmation that says what comes back, then the lock is undone.
function showUnlock(session) {
  const button = $("#drawer-unlock");
  button.hidden = !(session && session.status === "accounted" && can("lock"));
  button.disabled = false;
  button.onclick = session ? () => unlock(session, button) : null;
}

async function unlock(session, button) {
  const current = ticket("drawer");
  clearMessage($("#drawer-error"), $("#drawer-notice"));
  const ok = await confirmDialog(() => t("unlock.confirm", { id: session.session_id }), { ok: "unlock.ok" });
  if (!ok || !current()) return;
  button.disabled = true;
  try {
    const id = encodeURIComponent(session.session_id);
    const { data: opened } = await api("POST", `/sessions/${id}/unlock`);
    replaceSession(opened);
    loadTotals();
    const { data: audit } = await api("GET", `/sessions/${id}/history`);
    if (!current()) return;
    Object.assign(session, opened); // the figures above read this session: now without its frozen price
    $("#drawer-figures")._words();
    renderPricing(opened);
    renderAudit(audit.history || [], opened);
    showUnlock(opened);
    notice($("#drawer-notice"), "unlock.done", { id: session.session_id });
  } catch (error) {
    if (!current()) return;
    button.disabled = false;
    showError($("#drawer-error"), error);
  }
}

export function renderPricing(session) {
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
export function span(seconds) {
  const minutes = Math.floor(seconds / 60), rest = seconds % 60;
  return rest ? `${minutes} min ${rest} s` : `${minutes} min`;
}

// Each line code's words (price.<code> in i18n.js) and their figures from the line's `values`:
// money and multipliers by the page's decimal separator, durations in minutes.
export const PRICE_LINES = {
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
export const PRICE_LINE_KEYS = { accounted: (params) => (params.amount === null ? "price.accountedMinutes" : "price.accounted") };

/** A line's values, read strictly: a value missing or of the wrong kind makes the line fall back to its text. */
export function lineValues(values) {
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
export function priceLineWords(line) {
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
export function pricingLine(line, currency, live) {
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

export function renderAudit(entries, session) {
  $("#drawer-history").replaceChildren(...entries.map((entry) => historyItem(entry, session)));
}
