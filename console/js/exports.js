import { api, jobResult } from "./api.js";
import { h, show } from "./dom.js";
import { ApiError, clearMessage, showError } from "./errors.js";
import { folded, number, when, zone } from "./format.js";
import { groupName } from "./sessions.js";
import { $, state } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- export

// The files finance asks for: the workbook, the spreadsheet CSV in the page's language, QuickBooks'
// and Xero's invoice imports, or the machine CSV; of one client or every client; dates in the
// tenant's time zone; saved under a name that says the client and the period.

export const FORMATS = {
  xlsx: () => ({ format: "xlsx", locale: state.lang }),
  sheet: () => ({ format: "csv", locale: state.lang }),
  quickbooks: () => ({ format: "quickbooks" }),
  xero: () => ({ format: "xero" }),
  csv: () => ({ format: "csv" }),
};
const EXTENSIONS = { xlsx: "xlsx", sheet: "csv", quickbooks: "csv", xero: "csv", csv: "csv" };

/** The options of a format select, in the page's language (xlsx first: what finance opens). */
export function formatOptions(select) {
  const chosen = select.value || "xlsx";
  select.replaceChildren(...Object.keys(FORMATS).map((kind) => h("option", { value: kind }, t(`export.format.${kind}`))));
  select.value = chosen;
}

/** "Boulangerie Zoé & fils" → "boulangerie-zoe-fils": a file name's part. */
export function slug(text) {
  return folded(text).replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 60) || "export";
}

/** The file's name: the one the link gives (Content-Disposition), else client_period.ext. */
export function fileName(url, client, period, kind) {
  try {
    const disposition = new URL(url, location.href).searchParams.get("response-content-disposition") || "";
    const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
    if (match) return decodeURIComponent(match[1]);
  } catch (failure) { /* a relative or odd link: the console's own name */ }
  return `${client === null ? "all-clients" : slug(client)}_${period}.${EXTENSIONS[kind]}`;
}

/** The request's body: the format's fields, the tenant's zone, the period. */
export function exportBody(kind, period, extra = {}) {
  const body = { ...FORMATS[kind](), time_zone: zone(), ...extra };
  for (const name of ["from", "to", "status"]) if (period[name]) body[name] = period[name];
  return body;
}

/** Shows a ready file's link: its name, its rows, when the link expires. */
export function showFile(link, data, name) {
  link.href = data.url;
  link.setAttribute("download", name);
  say(link, () => t("export.file", { name, rows: number(data.rows ?? 0) }), false);
}

/** An export: 201 with its link, 202 with an export to poll, or 202 with a job (SPEC §9). */
export async function exportOf(group, body, progress) {
  const path = group === null ? "/exports" : `/groups/${encodeURIComponent(group)}/exports`; // null: every client
  let { status, data } = await api("POST", path, { body });
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

export async function exportCsv(event) {
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
    const kind = $("#export-format").value;
    const body = exportBody(kind, query, kind === "csv" ? { delimiter: $("#delimiter").value } : {});
    const data = await exportOf(query.group, body, running);
    const period = query.fromDay && query.toDay ? `${query.fromDay}_${query.toDay}` : query.fromDay || query.toDay || "all";
    showFile($("#export-link"), data, fileName(data.url, groupName(query.group), period, kind));
    say($("#export-expires"), () => (data.expires_at ? t("export.expires", { when: when(data.expires_at) }) : ""), false);
    show($("#export-result"));
  } catch (error) {
    showError(errorBox, error);
  } finally {
    button.disabled = false;
    clearMessage(running);
  }
}

/** The delimiter only matters to the machine CSV (the spreadsheet CSV takes the language's). */
export function showDelimiter() {
  show($("#delimiter-label"), $("#export-format").value === "csv");
}
