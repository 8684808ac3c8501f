import { api, jobResult } from "./api.js";
import { show } from "./dom.js";
import { ApiError, clearMessage, showError } from "./errors.js";
import { when } from "./format.js";
import { $, state } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- export

/** An export: 201 with its link, 202 with an export to poll, or 202 with a job (SPEC §9). */
export async function exportOf(group, body, progress) {
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
