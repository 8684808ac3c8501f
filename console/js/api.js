import { ApiError, clearMessage, showError } from "./errors.js";
import { expire } from "./signin.js";
import { API, JOB_POLL_MS, state } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- the API

export let inFlight = 0; // requests under way; document.body.dataset.busy says whether any is (tests wait on it)
export function busy(change) {
  inFlight += change;
  document.body.dataset.busy = inFlight > 0 ? "true" : "false";
}

export async function api(method, path, options = {}) {
  busy(+1);
  try {
    return await request(method, path, options);
  } finally {
    busy(-1);
  }
}

// An admin's list (tokens, people, scheduled pulls): the answer's `name` list read into
// state[name] and drawn by `render`; a failure is shown in `errorBox` and the list left as it was.
export async function loadList(name, path, errorBox, render) {
  clearMessage(errorBox);
  try {
    state[name] = (await api("GET", path)).data[name] || [];
  } catch (error) {
    showError(errorBox, error);
    return;
  }
  render();
}

export async function request(method, path, { query = {}, body, key } = {}) {
  const url = new URL(API + path, location.origin);
  for (const [name, value] of Object.entries(query)) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key; // a change sent twice (a lost answer) is made once
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
export async function jobResult(answer, progress) {
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
