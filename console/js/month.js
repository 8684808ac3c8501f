import { api } from "./api.js";
import { cell, h, show } from "./dom.js";
import { ApiError, clearMessage, notice, showError } from "./errors.js";
import { exportBody, exportOf, fileName, formatOptions, showFile } from "./exports.js";
import { hours, localMidnight, moneyOf, monthDays, monthName, monthText, pad, readMonth, shiftDay } from "./format.js";
import { renderSummary } from "./monthsummary.js";
import { lockAllOf, search, setDays } from "./sessions.js";
import { showView } from "./signin.js";
import { simulateFor } from "./simulate.js";
import { $, state, ticket } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- the month of every client

export function defaultMonth() {
  const now = new Date();
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}`;
}

export function monthPeriod(month) {
  const { fromDay, toDay } = monthDays(month);
  return { fromDay, toDay, from: localMidnight(fromDay), to: localMidnight(toDay, 1) };
}


/** One row per client: GET /v1/totals (SPEC §9, paged), or, from an API without it, each client's totals. */
export async function loadMonth() {
  const typed = readMonth($("#month").value);
  clearMessage($("#month-error"));
  if ($("#month").value.trim() && !typed) { say($("#month-error"), () => t("month.bad", { example: t("month.placeholder") })); return; }
  state.month = typed || state.month || defaultMonth();
  $("#month").value = monthText(state.month);
  const period = monthPeriod(state.month);
  const current = ticket("month"); // only the latest month asked is shown
  notice($("#month-source"), "sessions.loading");
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
  if (!current()) return;
  state.monthRows = rows;
  if (overview) clearMessage($("#month-source")); else notice($("#month-source"), "month.fallback");
  renderMonth();
}

export function renderMonth() {
  if (!state.month) return;
  $("#month-title").textContent = t("month.title", { month: monthName(state.month) });
  formatOptions($("#month-format"));
  renderSummary(state.monthRows);
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

export function openClientMonth(groupId) {
  const { fromDay, toDay } = monthDays(state.month);
  showView("sessions");
  $("#group").value = groupId;
  $("#status").value = "";
  setDays(fromDay, toDay);
  search();
}

export async function monthLockAll(row, button) {
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

/** One client's month (row) or every client's (row null) as the file chosen above the table. */
export async function monthExport(row, button) {
  clearMessage($("#month-error"));
  show($("#month-export"), false);
  button.disabled = true;
  try {
    const kind = $("#month-format").value || "xlsx";
    const period = monthPeriod(state.month);
    const data = await exportOf(row ? row.group_id : null, exportBody(kind, { from: period.fromDay, to: shiftDay(period.toDay, 1) }), $("#month-progress"));
    showFile($("#month-export-link"), data, fileName(data.url, row ? row.name || row.group_id : null, state.month, kind));
    show($("#month-export"));
  } catch (error) {
    showError($("#month-error"), error);
  } finally {
    button.disabled = false;
  }
}
