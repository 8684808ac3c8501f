import { api } from "./api.js";
import { cell, h, show } from "./dom.js";
import { clearMessage, describe, notice, showError } from "./errors.js";
import { hours, money, when } from "./format.js";
import { forgetComputerNames } from "./names.js";
import { confirmDialog, fillGroups, groupName } from "./sessions.js";
import { $, state, ticket } from "./state.js";
import { untilOf } from "./totals.js";
import { say, spoken, t } from "./words.js";

// ---------------------------------------------------------------- clients, computers, contracts (admins)

export async function loadClients() {
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

export function profileName(profileId) {
  const profile = state.profiles.find((p) => p.profile_id === profileId);
  return profile ? profile.name : profileId;
}

export function renderClients() {
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

export async function saveClient(groupId, name, input = null) {
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

export async function openClient(groupId) {
  const current = ticket("client");
  state.client = groupId;
  state.computers = []; // the previous client's rows go at once
  state.contracts = [];
  clearMessage($("#computers-error"), $("#contracts-error"));
  show($("#client-detail"));
  show($("#ledger-card"), false);
  renderClient();
  notice($("#computers-error"), "sessions.loading");
  try {
    const [{ data: computers }, { data: contracts }] = await Promise.all([
      api("GET", `/groups/${encodeURIComponent(groupId)}/computers`),
      api("GET", `/groups/${encodeURIComponent(groupId)}/contracts`),
    ]);
    if (!current()) return;
    clearMessage($("#computers-error"));
    state.computers = computers.computers || [];
    state.contracts = contracts.contracts || [];
  } catch (error) {
    if (!current()) return;
    showError($("#computers-error"), error);
  }
  renderClient();
  $("#client-detail").scrollIntoView({ block: "nearest" });
}

export function renderClient() {
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

export async function putComputer(groupId, computerId, name) {
  clearMessage($("#computers-error"), $("#computers-result"));
  try {
    const { data } = await api("PUT", `/groups/${encodeURIComponent(groupId)}/computers/${encodeURIComponent(computerId)}`, { body: { name: name.trim() } });
    forgetComputerNames();
    notice($("#computers-result"), data.group_id === state.client ? "computers.saved" : "computers.moved", () => ({ name: data.name, group: groupName(data.group_id) }));
    $("#computer-id").value = "";
    $("#computer-name").value = "";
    await openClient(state.client);
  } catch (error) {
    showError($("#computers-error"), error);
  }
}

export async function assignProfile(balanceMode = null) {
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

export const LEDGER_KINDS = ["allotment", "recharge", "deduction", "carry_over", "closing", "expiry", "overage"];

export async function showLedger(contract) {
  const current = ticket("ledger");
  clearMessage($("#ledger-error"));
  show($("#ledger-card"));
  $("#ledger tbody")?.replaceChildren();
  say($("#ledger-title"), () => t("ledger.title", { contract: contract.contract_id }), false);
  const entries = [];
  try {
    let cursor = null;
    do {
      const { data } = await api("GET", `/groups/${encodeURIComponent(state.client)}/ledger`, { query: { contract_id: contract.contract_id, cursor } });
      if (!current()) return;
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
