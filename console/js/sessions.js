import { api, busy, jobResult } from "./api.js";
import { cell, h, padlock, show } from "./dom.js";
import { openDrawer } from "./drawer.js";
import { clearMessage, notice, showError } from "./errors.js";
import { cents, centsText, clock, day, dayText, duration, folded, hours, localMidnight, money, moneyOf, monthDays, pad, readDay, sameDay, shiftMonth, when } from "./format.js";
import { lockTap, pickBox, picked, showPicked } from "./lock.js";
import { computerLabel, computerName, loadComputerNames } from "./names.js";
import { $, $$, PAGE_SIZE, can, state, ticket } from "./state.js";
import { loadTotals, renderTotals } from "./totals.js";
import { counted, say, t } from "./words.js";

// ---------------------------------------------------------------- groups and the filter

export async function loadGroups() {
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

export function fillGroups() {
  const select = $("#group");
  const previous = select.value;
  select.replaceChildren(...state.groups.map((group) => h("option", { value: group.group_id }, group.name)));
  if (state.groups.some((group) => group.group_id === previous)) select.value = previous;
}

export function readFilter() {
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

export function setDays(fromDay, toDay) {
  $("#from").value = fromDay ? dayText(fromDay) : "";
  $("#to").value = toDay ? dayText(toDay) : "";
}

export function setPeriod(which) {
  if (which === "all") setDays("", "");
  else {
    const now = new Date();
    const month = shiftMonth(`${now.getFullYear()}-${pad(now.getMonth() + 1)}`, which === "last" ? -1 : 0);
    const { fromDay, toDay } = monthDays(month);
    setDays(fromDay, toDay);
  }
  search();
}

export function periodText(query) {
  const from = query.fromDay ? day(`${query.fromDay}T12:00:00`) : null;
  const to = query.toDay ? day(`${query.toDay}T12:00:00`) : null;
  if (from && to) return t("period.range", { from, to });
  if (from) return t("period.from", { from });
  if (to) return t("period.to", { to });
  return t("period.all");
}

// ---------------------------------------------------------------- sessions

export async function search() {
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
  state.totals = null; // the previous client's figures go before the new ones are asked for
  rowErrors.clear();
  picked.clear();
  renderSessions();
  renderTotals();
  busy(1); // one busy span over the names, then the page, and the totals (tests and screen readers wait on it)
  try {
    await Promise.all([loadComputerNames(query.group).then(() => loadPage()), loadTotals()]);
  } finally {
    busy(-1);
  }
}

export async function loadPage() {
  const query = state.query;
  const current = ticket("sessions");
  const button = $("#more");
  button.disabled = true;
  $("#sessions-count").textContent = t("sessions.loading");
  try {
    const { data } = await api("GET", `/groups/${encodeURIComponent(query.group)}/sessions`, {
      query: { from: query.from, to: query.to, status: query.status, limit: PAGE_SIZE, cursor: state.cursor },
    });
    if (!current()) return;
    state.sessions.push(...(data.sessions || []));
    state.cursor = data.next_cursor || null;
  } catch (error) {
    if (!current()) return;
    showError(state.cursor ? $("#sessions-error") : $("#filter-error"), error);
  } finally {
    if (current()) button.disabled = false;
  }
  renderSessions();
}

export function sortValue(session, key) {
  if (key === "cost") return session.cost === null || session.cost === undefined ? -1e15 : Number(cents(session.cost));
  const value = session[key];
  return typeof value === "string" ? folded(value) : value ?? -1;
}

/** The loaded sessions that the search box matches (client-side: over the pages loaded so far), sorted. */
export function visibleSessions() {
  const words = folded($("#text").value).split(" ").filter(Boolean);
  const matching = words.length
    ? state.sessions.filter((s) => { const hay = folded(`${s.technician} ${s.computer_id} ${computerName(s.group_id, s.computer_id) || ""} ${s.notes || ""}`); return words.every((w) => hay.includes(w)); })
    : [...state.sessions];
  const { key, dir } = state.sort;
  return matching.sort((a, b) => {
    const x = sortValue(a, key), y = sortValue(b, key);
    return (x < y ? -1 : x > y ? 1 : 0) * dir || (a.started_at < b.started_at ? -1 : 1);
  });
}

export function renderSessions() {
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
  showPicked();
}

export function sessionRow(session) {
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
    onclick: lockable ? (event) => lockTap(session, event.currentTarget) : null,
  }, padlock(session.status === "accounted"));
  const details = h("button", { type: "button", class: "link details", onclick: () => openDrawer(session) }, t("sessions.details"));
  const end = sameDay(session.started_at, session.ended_at) ? clock(session.ended_at) : when(session.ended_at);
  return h("tr", { dataset: { sessionId: session.session_id, status: session.status }, class: session.status },
    cell("col.status", { class: "status-cell" }, lockable ? pickBox(session) : null, h("span", { class: `marker ${session.status}`, role: "img", "aria-label": statusText }), " ", h("span", { class: "status-text" }, statusText)),
    cell("col.technician", { class: "technician" }, session.technician),
    cell("col.computer", { class: "computer" }, computerLabel(session.group_id, session.computer_id)),
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
export function readInteger(text) {
  return /^\s*-?\d+\s*$/.test(text) ? Number.parseInt(text, 10) : text;
}

export function rowOf(sessionId) {
  return $$("#sessions tbody tr[data-session-id]").find((row) => row.dataset.sessionId === sessionId);
}

/** An error shown on its own line right under the session's row (the whole width, wrapped); it
stays there, in the page's language, until the row changes again. */
export const rowErrors = new Map();
export function errorRow(sessionId, columns, error) {
  const line = h("td", { colSpan: columns, role: "alert" });
  showError(line, error);
  return h("tr", { class: "row-error", dataset: { errorFor: sessionId } }, line);
}

export function rowError(sessionId, error) {
  if (error) rowErrors.set(sessionId, error); else rowErrors.delete(sessionId);
  const row = rowOf(sessionId);
  if (!row) { if (error) showError($("#sessions-error"), error); return; }
  const next = row.nextElementSibling;
  if (next && next.classList.contains("row-error")) next.remove();
  if (error) row.after(errorRow(sessionId, row.children.length, error));
}

export function replaceSession(updated) {
  const index = state.sessions.findIndex((s) => s.session_id === updated.session_id);
  if (index >= 0) state.sessions[index] = updated;
  rowErrors.delete(updated.session_id);
  const row = rowOf(updated.session_id);
  if (!row) return;
  const next = row.nextElementSibling;
  if (next && next.classList.contains("row-error")) next.remove();
  const fresh = sessionRow(updated);
  row.replaceWith(fresh);
  if (row.classList.contains("current")) { fresh.classList.add("current"); fresh.tabIndex = -1; fresh.focus(); } // the keyboard's place stays
}

export async function adjust(session, change, input) {
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

export async function lockOne(session, button) {
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
export async function pendingOf(group, from, to) {
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

export function groupName(groupId) {
  return (state.groups.find((g) => g.group_id === groupId) || {}).name || groupId;
}

/** Locks every to-account session of a client's period, after saying what that is; a job is followed. */
export async function lockAllOf(group, period, resultBox, progressBox) {
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

export async function lockAll() {
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
export function confirmDialog(words, { ok = "confirm.ok", alt = null } = {}) {
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
