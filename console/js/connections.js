import { api, loadList } from "./api.js";
import { cell, h, show } from "./dom.js";
import { clearMessage, notice, showError } from "./errors.js";
import { number, when } from "./format.js";
import { groupOptions } from "./imports.js";
import { confirmDialog } from "./sessions.js";
import { $, $$, state } from "./state.js";
import { t } from "./words.js";

// ---------------------------------------------------------------- scheduled pulls (admins)

const SCHEDULES = { "rate(15 minutes)": "connections.every15", "rate(1 hour)": "connections.hourly", "rate(6 hours)": "connections.every6h",
  "rate(1 day)": "connections.daily" };
const TOOLS = { teamviewer: "TeamViewer", anydesk: "AnyDesk" };

export async function loadConnections() {
  groupOptions($("#connection-group"));
  await loadList("connections", "/imports/connections", $("#connections-error"), renderConnections);
}

function lastRun(run) {
  if (!run) return t("connections.never");
  return t(`connections.status.${run.status}`) + " · " + when(run.at);
}

export function renderConnections() {
  const connections = state.connections || [];
  show($("#connections-none"), connections.length === 0);
  $("#connections tbody").replaceChildren(...connections.map((connection) => {
    const run = connection.last_run;
    const failed = run && run.status !== "done";
    return h("tr", { dataset: { connectionId: connection.connection_id, status: run ? run.status : "never" }, class: failed ? "failed" : "" },
      cell("connections.id", { class: "label" }, connection.connection_id),
      cell("imports.source", {}, TOOLS[connection.source] || connection.source),
      cell("connections.schedule", {}, SCHEDULES[connection.schedule] ? t(SCHEDULES[connection.schedule]) : connection.schedule),
      cell("connections.lastRun", { class: "last-run" }, lastRun(run)),
      cell("connections.taken", { class: "num taken" }, run ? t("connections.takenOf", { imported: number(run.imported), rows: number(run.rows) }) : "—"),
      cell("connections.lastError", { class: "last-error" }, failed ? run.reason || t(`connections.status.${run.status}`) : "—"),
      cell("col.actions", {}, h("button", { type: "button", class: "danger delete", onclick: () => deleteConnection(connection) },
        t("connections.delete"))));
  }));
}

function showCredentials() {
  const source = $("#connection-source").value;
  for (const label of $$("#connection-form .cred-teamviewer")) show(label, source === "teamviewer");
  for (const label of $$("#connection-form .cred-anydesk")) show(label, source === "anydesk");
}

function forgetCredentials() {
  for (const id of ["#connection-token", "#connection-license", "#connection-password"]) $(id).value = "";
}

async function saveConnection(event) {
  event.preventDefault();
  clearMessage($("#connection-error"), $("#connections-result"));
  const source = $("#connection-source").value;
  const credentials = source === "teamviewer" ? { token: $("#connection-token").value }
    : { license_id: $("#connection-license").value.trim(), api_password: $("#connection-password").value };
  const body = { source, credentials, schedule: $("#connection-schedule").value };
  if ($("#connection-group").value) body.group_id = $("#connection-group").value;
  const id = $("#connection-id").value.trim();
  try {
    await api("PUT", `/imports/connections/${encodeURIComponent(id)}`, { body });
    forgetCredentials(); // sent once: the page keeps no copy
    $("#connection-id").value = "";
    notice($("#connections-result"), "connections.saved", { id });
    await loadConnections();
  } catch (error) {
    showError($("#connection-error"), error);
  }
}

async function deleteConnection(connection) {
  clearMessage($("#connections-error"), $("#connections-result"));
  const ok = await confirmDialog(() => t("connections.deleteConfirm", { id: connection.connection_id, tool: TOOLS[connection.source] }),
    { ok: "connections.delete" });
  if (!ok) return;
  try {
    await api("DELETE", `/imports/connections/${encodeURIComponent(connection.connection_id)}`);
    notice($("#connections-result"), "connections.deleted", { id: connection.connection_id });
  } catch (error) {
    showError($("#connections-error"), error);
  }
  await loadConnections();
}

export function wireConnections() {
  $("#connection-source").addEventListener("change", showCredentials);
  $("#connection-form").addEventListener("submit", saveConnection);
}

export function forgetConnections() {
  state.connections = [];
  forgetCredentials();
}
