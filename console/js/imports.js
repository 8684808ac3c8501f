import { ApiError, clearMessage, notice, showError } from "./errors.js";
import { api, busy, jobResult } from "./api.js";
import { cell, h, show } from "./dom.js";
import { number } from "./format.js";
import { loadConfig } from "./people.js";
import { $, $$, state } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- imports (admins): a tool's own export

// A file over 1 MB is uploaded to a presigned link as it is (never read into the page) and read by
// a job, which the screen follows to its end: the request stays far from the API's limits (6 MB
// for an import's body, 29 s for its answer).
export const INLINE_BYTES = 1_000_000;
const SOURCES_WITH_LOCAL_TIME = ["splashtop"];
const FIGURES = [["rows", "rows"], ["imported", "imported"], ["duplicates", "duplicates"], ["conflict_count", "conflicts"],
  ["below_minimum", "below_minimum"], ["rejected_count", "rejected"]];
let chosen = null; // the file chosen or dropped (its text is read when the import starts)
let shown = null; // the last import's summary, kept to say it again in another language

export function groupOptions(select) {
  const previous = select.value;
  select.replaceChildren(h("option", { value: "" }, t("imports.noGroup")),
    ...state.groups.map((group) => h("option", { value: group.group_id }, group.name)));
  select.value = state.groups.some((group) => group.group_id === previous) ? previous : "";
}

export function openImports() {
  groupOptions($("#import-group"));
  describeSource();
}

function describeSource() {
  const source = $("#import-source").value;
  show($("#import-columns"), source === "generic");
  say($("#import-format"), () => t(`imports.format.${source}`));
  $("#import-zone").required = SOURCES_WITH_LOCAL_TIME.includes(source);
}

function choose(file) {
  chosen = file || null;
  if (chosen) say($("#import-chosen"), () => t("imports.chosen", { name: chosen.name, size: number(Math.ceil(chosen.size / 1024)) }));
  else clearMessage($("#import-chosen"));
}

export function wireImports() {
  $("#import-source").addEventListener("change", describeSource);
  $("#import-file").addEventListener("change", (event) => choose(event.target.files[0]));
  const drop = $("#import-drop");
  for (const name of ["dragenter", "dragover"]) drop.addEventListener(name, (event) => { event.preventDefault(); drop.classList.add("over"); });
  for (const name of ["dragleave", "drop"]) drop.addEventListener(name, () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => { event.preventDefault(); if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]); });
  $("#import-content").addEventListener("input", () => { if ($("#import-content").value) { choose(null); $("#import-file").value = ""; } });
  $("#import-form").addEventListener("submit", runImport);
}

function options() {
  const body = { source: $("#import-source").value };
  if ($("#import-group").value) body.group_id = $("#import-group").value;
  if ($("#import-zone").value.trim()) body.time_zone = $("#import-zone").value.trim();
  if (body.source === "generic") {
    const columns = {};
    for (const input of $$("#import-columns input")) {
      if (input.value.trim()) columns[input.name.slice("columns.".length)] = input.value.trim();
    }
    body.columns = columns;
  }
  return body;
}

const bytes = (text) => new TextEncoder().encode(text).length;

/** The presigned link, through the local stack's relay on this origin when it offers one. */
async function uploadUrl(link) {
  const config = await loadConfig();
  if (!config || !config.uploads) return link;
  const url = new URL(link);
  return config.uploads.replace(/\/$/, "") + url.pathname + url.search;
}

/** `file`: a File (sent as it is, never read into the page) or the pasted text. */
async function viaUpload(file, body) {
  const size = typeof file === "string" ? bytes(file) : file.size;
  const { data } = await api("POST", "/imports/uploads");
  notice($("#import-progress"), "imports.uploading", { size: number(Math.ceil(size / 1024)) });
  busy(+1);
  try {
    let response;
    try {
      response = await fetch(await uploadUrl(data.url), { method: data.method || "PUT", body: file, cache: "no-store" });
    } catch (failure) {
      throw new ApiError(0, "network", failure.message);
    }
    if (!response.ok) throw new ApiError(response.status, "upload_failed", (await response.text()).slice(0, 200));
  } finally {
    busy(-1);
  }
  return api("POST", "/imports", { body: { ...body, upload_id: data.upload_id } });
}

async function runImport(event) {
  event.preventDefault();
  clearMessage($("#import-error"), $("#import-progress"));
  const button = $("#import-run");
  const large = chosen && chosen.size > INLINE_BYTES; // uploaded as it is, whatever its text
  const text = large ? null : chosen ? await chosen.text() : $("#import-content").value;
  if (!large && !text.trim()) { notice($("#import-error"), "imports.empty"); return; }
  const body = options();
  button.disabled = true;
  try {
    const inline = large ? null : { ...body, content: text };
    const answer = inline && bytes(JSON.stringify(inline)) <= INLINE_BYTES ? await api("POST", "/imports", { body: inline })
      : await viaUpload(large ? chosen : text, body);
    shown = await jobResult(answer, $("#import-progress"));
    clearMessage($("#import-progress"));
    renderImport();
  } catch (error) {
    clearMessage($("#import-progress"));
    showError($("#import-error"), error);
  } finally {
    button.disabled = false;
  }
}

function lines(table, title, items, count, key, columns) {
  show($(table), items.length > 0);
  $(`${table} tbody`).replaceChildren(...items.map((item) => h("tr", { dataset: { line: item.line } },
    ...columns.map(([label, value, attributes]) => cell(label, attributes || {}, value(item))))));
  if (!count) { clearMessage($(title)); return; }
  say($(title), () => (count > items.length ? t(`${key}Some`, { count: number(count), listed: number(items.length) }) : t(key, { count: number(count) })));
}

export function renderImport() {
  if (!shown) return;
  const result = shown;
  show($("#import-result"));
  $("#import-summary").replaceChildren(...FIGURES.flatMap(([name, word]) => [
    h("dt", {}, t(`imports.figure.${word}`)),
    h("dd", { dataset: { figure: word } }, number(result[name] ?? 0))]));
  lines("#import-rejected", "#import-rejected-title", result.rejected || [], result.rejected_count || 0, "imports.rejectedLines", [
    ["imports.line", (item) => number(item.line), { class: "num" }],
    ["imports.field", (item) => item.field, { class: "field" }],
    ["imports.reason", (item) => item.reason, { class: "reason" }]]);
  lines("#import-conflicts", "#import-conflicts-title", result.conflicts || [], result.conflict_count || 0, "imports.conflictLines", [
    ["imports.line", (item) => number(item.line), { class: "num" }],
    ["imports.session", (item) => item.session_id, { class: "session" }],
    ["imports.reason", (item) => item.reason, { class: "reason" }]]);
}

export function forgetImport() {
  shown = null;
  chosen = null;
  show($("#import-result"), false);
  $("#import-content").value = "";
}
