import { api, jobResult } from "./api.js";
import { cell, h, show } from "./dom.js";
import { clearMessage, notice, showError } from "./errors.js";
import { showFile } from "./exports.js";
import { cents, centsText, locale, money, monthName, monthText, number, readMonth, when } from "./format.js";
import { invoiceNumberText, settingsOf } from "./invoicesettings.js";
import { defaultMonth } from "./month.js";
import { confirmDialog, groupName } from "./sessions.js";
import { $, can, state, ticket } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- invoices (finance, admin)

// A month's invoices: start a run (its drafts, a job's progress), issue a draft, void an issued
// invoice, a document's link, the run's QuickBooks or Xero file, and the month closed or reopened.
// Every answer about a month is used only while that month is still the one shown (ticket).

/** A calendar date of the API ("2027-01-06") as the page writes dates: "06/01/2027" (no time zone moves it). */
function date(text) {
  if (!text) return "—";
  return new Intl.DateTimeFormat(locale(), { day: "2-digit", month: "2-digit", year: "numeric", timeZone: "UTC" }).format(new Date(`${text}T00:00:00Z`));
}

const ORDER = { draft: 0, issued: 1, void: 2 };
const STATUS_WORDS = { draft: "invoices.status.draft", issued: "invoices.status.issued", void: "invoices.status.void" };

/** The month the screen shows ("2026-10"): typed, else the one shown, else the previous month (the one to invoice). */
function askedMonth() {
  const field = $("#invoices-month");
  const typed = readMonth(field.value);
  if (field.value.trim() && !typed) return null;
  if (typed) return typed;
  if (state.invoices.month) return state.invoices.month;
  const [year, month] = defaultMonth().split("-").map(Number);
  return month === 1 ? `${year - 1}-12` : `${year}-${String(month - 1).padStart(2, "0")}`;
}

export async function loadInvoices(month = askedMonth()) {
  clearMessage($("#invoices-error"));
  if (month === null) { say($("#invoices-error"), () => t("month.bad", { example: t("month.placeholder") })); $("#invoices-month").focus(); return; }
  const current = ticket("invoices");
  if (month !== state.invoices.month) {
    // another month: nothing of the former one stays on the page while this one loads
    Object.assign(state.invoices, { month, list: null, period: null, run: null });
    clearMessage($("#invoices-result"));
    for (const box of [$("#invoice-file"), $("#run-file")]) show(box, false); // (their links stay in them)
    renderInvoices();
  }
  $("#invoices-month").value = monthText(month);
  notice($("#invoices-loading"), "sessions.loading");
  try {
    const [{ data }, { data: period }] = await Promise.all([api("GET", "/invoices", { query: { month } }), api("GET", `/periods/${month}`)]);
    if (!current()) return;
    state.invoices.list = data.invoices || [];
    state.invoices.period = period;
  } catch (error) {
    if (current()) showError($("#invoices-error"), error);
    return;
  } finally {
    if (current()) clearMessage($("#invoices-loading"));
  }
  renderInvoices();
}

export function renderInvoices() {
  const { month, list, period } = state.invoices;
  if (!month) return;
  $("#invoices-title").textContent = t("invoices.title", { month: monthName(month) });
  renderPeriod(period);
  const filter = $("#invoices-status").value;
  const shown = (list || []).filter((invoice) => !filter || invoice.status === filter)
    .sort((a, b) => ORDER[a.status] - ORDER[b.status] || groupName(a.group_id).localeCompare(groupName(b.group_id), undefined, { sensitivity: "base" })
      || a.currency.localeCompare(b.currency) || String(a.number || "").localeCompare(String(b.number || "")));
  $("#invoices tbody").replaceChildren(...shown.map(invoiceRow));
  if (list && !shown.length) notice($("#invoices-empty"), list.length ? "invoices.noneOfStatus" : "invoices.none"); else clearMessage($("#invoices-empty"));
  renderSummary(list || []);
  renderRuns(list || []);
  show($("#invoices-issue-all"), (list || []).some((invoice) => invoice.status === "draft"));
}

/** Open or closed, in words; close offered while open, reopen (an admin's) while closed. */
function renderPeriod(period) {
  const closed = period ? period.closed : null; // null: not read yet
  if (closed === null) clearMessage($("#period-state"));
  else say($("#period-state"), () => t(closed ? (period.changed_by ? "period.closedBy" : "period.closed") : "period.open",
    { when: period.changed_at ? when(period.changed_at) : "", who: period.changed_by ? whoName(period.changed_by) : "" }));
  $("#period-state").dataset.closed = closed === null ? "" : String(closed);
  show($("#period-close"), closed === false);
  show($("#period-reopen"), can("reopen") && closed === true);
  $("#invoice-run").disabled = closed !== false;
}

function statusText(invoice) {
  if (invoice.credit_note_of) return t("invoices.status.credit");
  return t(STATUS_WORDS[invoice.status] || invoice.status);
}

function invoiceRow(invoice) {
  const actions = [h("button", { type: "button", class: "link details", onclick: () => openInvoice(invoice.invoice_id) }, t("invoices.details"))];
  if (invoice.status === "draft") actions.push(h("button", { type: "button", class: "issue", onclick: (event) => issueInvoice(invoice, event.currentTarget) }, t("invoices.issue")));
  if (invoice.status !== "draft") actions.push(h("button", { type: "button", class: "pdf", onclick: (event) => invoicePdf(invoice, event.currentTarget) }, t("invoices.pdf")));
  if (invoice.status === "issued" && !invoice.credit_note_of && can("void")) {
    actions.push(h("button", { type: "button", class: "danger void", onclick: (event) => voidInvoice(invoice, event.currentTarget) }, t("invoices.void")));
  }
  const kind = invoice.credit_note_of ? "credit" : invoice.status;
  const name = groupName(invoice.group_id);
  return h("tr", { dataset: { invoiceId: invoice.invoice_id, status: invoice.status }, class: kind },
    cell("invoices.col.client", { class: "client" }, h("span", {}, name, name !== invoice.group_id ? [" ", h("small", { class: "id" }, invoice.group_id)] : null)),
    cell("invoices.col.number", { class: "number" }, invoice.number || t("invoices.noNumber")),
    cell("invoices.col.status", { class: "status-cell" }, h("span", {}, h("span", { class: `marker invoice-${kind}`, "aria-hidden": "true" }), " ",
      h("span", { class: "status-text" }, statusText(invoice)))),
    cell("invoices.col.total", { class: "num total" }, money(invoice.total, invoice.currency)),
    cell("invoices.col.due", { class: "due" }, date(invoice.due_date)),
    cell("col.actions", { class: "row-actions" }, ...actions.flatMap((button) => [button, " "])));
}

/** Counts and totals per status and currency (never added across currencies). */
function renderSummary(list) {
  const groups = new Map();
  for (const invoice of list) {
    const key = invoice.credit_note_of ? "credit" : invoice.status;
    if (!groups.has(key)) groups.set(key, { count: 0, totals: new Map() });
    const entry = groups.get(key);
    entry.count += 1;
    entry.totals.set(invoice.currency, (entry.totals.get(invoice.currency) || 0n) + cents(invoice.total));
  }
  $("#invoices-summary").replaceChildren(...["draft", "issued", "credit", "void"].filter((key) => groups.has(key)).map((key) => {
    const { count, totals } = groups.get(key);
    const figures = [...totals].sort(([a], [b]) => a.localeCompare(b)).map(([currency, sum]) => money(centsText(sum), currency)).join(" · ");
    return h("p", { class: `grand invoice-sum ${key}`, dataset: { status: key } },
      h("span", { class: "grand-label" }, t(`invoices.sum.${key}`, { count: number(count) })), h("span", { class: "grand-figures" }, figures));
  }));
}

/** The month's runs that have issued invoices: their files (QuickBooks, Xero) list those invoices. */
function renderRuns(list) {
  const runs = new Map();
  for (const invoice of list) {
    if (!invoice.run_id) continue;
    if (!runs.has(invoice.run_id)) runs.set(invoice.run_id, { drafts: 0, issued: 0 });
    const run = runs.get(invoice.run_id);
    if (invoice.status === "draft") run.drafts += 1;
    else if (invoice.status === "issued" && !invoice.credit_note_of) run.issued += 1;
  }
  const select = $("#run-choice");
  const chosen = select.value;
  const ordered = [...runs].sort(([a, x], [b, y]) => (a === state.invoices.run ? -1 : b === state.invoices.run ? 1 : y.issued - x.issued || a.localeCompare(b)));
  select.replaceChildren(...ordered.map(([runId, run], index) => h("option", { value: runId },
    t("invoices.run.option", { n: index + 1, issued: number(run.issued), drafts: number(run.drafts) }))));
  if (runs.has(chosen)) select.value = chosen;
  show($("#run-files"), runs.size > 0);
}

/** POST /v1/invoice-runs for the month shown: its drafts, or a job followed with its progress. */
export async function startRun() {
  const month = state.invoices.month;
  const button = $("#invoice-run");
  clearMessage($("#invoices-error"), $("#invoices-result"));
  show($("#invoice-file"), false);
  if (!month) return;
  button.disabled = true;
  const current = ticket("invoices");
  notice($("#invoices-progress"), "invoices.run.starting", { month: monthName(month) });
  try {
    const data = await jobResult(await api("POST", "/invoice-runs", { body: { month } }), $("#invoices-progress"));
    const made = data.invoices || [];
    notice($("#invoices-result"), "invoices.run.done", () => ({ ...countedInvoices(made.length), month: monthName(month) }));
    if (state.invoices.month === month) state.invoices.run = data.run_id || null;
  } catch (error) {
    showError($("#invoices-error"), error);
  } finally {
    clearMessage($("#invoices-progress"));
    button.disabled = false;
  }
  if (current() || state.invoices.month === month) await loadInvoices(state.invoices.month);
}

function countedInvoices(count) {
  return { count: number(count), invoices: t(count === 1 ? "word.invoice" : "word.invoices") };
}

/** The words of an invoice in a question: its client, its total, its number when it has one. */
function described(invoice) {
  return { client: groupName(invoice.group_id), total: money(invoice.total, invoice.currency), number: invoice.number || t("invoices.noNumber") };
}

async function changeInvoice(invoice, button, { question, ok, path, done }) {
  clearMessage($("#invoices-error"), $("#invoices-result"));
  const settings = await settingsOf();
  const yes = await confirmDialog(() => t(question, { ...described(invoice), next: settings ? invoiceNumberText(settings, ok === "invoices.void") : "…" }), { ok });
  if (!yes) return;
  button.disabled = true;
  try {
    const { data } = await api("POST", `/invoices/${encodeURIComponent(invoice.invoice_id)}/${path}`, { key: crypto.randomUUID() });
    notice($("#invoices-result"), done, () => ({ ...described(data.invoice || data), credit: data.credit_note ? data.credit_note.number : "" }));
    settingsOf(true); // the counters moved
  } catch (error) {
    showError($("#invoices-error"), error);
  } finally {
    button.disabled = false;
  }
  await loadInvoices(invoice.period);
}

export function issueInvoice(invoice, button) {
  return changeInvoice(invoice, button, { question: "invoices.issueConfirm", ok: "invoices.issue", path: "issue", done: "invoices.issued" });
}

/** Every draft of the month shown, after one confirmation, in the order the table lists them (each its
 * own issue with its own Idempotency-Key: numbers are taken one by one); the first refusal stops it. */
export async function issueAll() {
  const month = state.invoices.month;
  const drafts = (state.invoices.list || []).filter((invoice) => invoice.status === "draft")
    .sort((a, b) => groupName(a.group_id).localeCompare(groupName(b.group_id), undefined, { sensitivity: "base" }) || a.currency.localeCompare(b.currency));
  if (!month || !drafts.length) return;
  clearMessage($("#invoices-error"), $("#invoices-result"));
  const settings = await settingsOf();
  const yes = await confirmDialog(() => t("invoices.issueAllConfirm", { ...countedInvoices(drafts.length), month: monthName(month),
    next: settings ? invoiceNumberText(settings, false) : "…" }), { ok: "invoices.issueAll" });
  if (!yes) return;
  const button = $("#invoices-issue-all");
  button.disabled = true;
  const issued = [];
  let failure = null, stopped = null;
  for (const draft of drafts) {
    notice($("#invoices-progress"), "invoices.issued", () => described(draft));
    try {
      const { data } = await api("POST", `/invoices/${encodeURIComponent(draft.invoice_id)}/issue`, { key: crypto.randomUUID() });
      issued.push(data.invoice || data);
    } catch (error) {
      failure = error;
      stopped = draft;
      break;
    }
  }
  clearMessage($("#invoices-progress"));
  button.disabled = false;
  settingsOf(true); // the counters moved
  await loadInvoices(month); // (clears the messages: the outcome is said after it)
  if (failure) {
    notice($("#invoices-result"), "invoices.issuedAllStopped", () => ({ ...countedInvoices(issued.length), client: groupName(stopped.group_id) }));
    showError($("#invoices-error"), failure);
  } else {
    notice($("#invoices-result"), "invoices.issuedAll", () => ({ ...countedInvoices(issued.length), first: issued[0].number, last: issued[issued.length - 1].number }));
  }
}

export function voidInvoice(invoice, button) {
  return changeInvoice(invoice, button, { question: "invoices.voidConfirm", ok: "invoices.void", path: "void", done: "invoices.voided" });
}

/** The issued invoice's PDF (a Factur-X e-invoice): a link that expires, shown under the table. */
export async function invoicePdf(invoice, button) {
  clearMessage($("#invoices-error"));
  show($("#invoice-file"), false);
  button.disabled = true;
  try {
    const { data } = await api("GET", `/invoices/${encodeURIComponent(invoice.invoice_id)}/pdf`);
    linkTo($("#invoice-file"), data, "invoices.pdfLink");
  } catch (error) {
    showError($("#invoices-error"), error);
  } finally {
    button.disabled = false;
  }
}

function linkTo(box, data, key) {
  const link = $("a", box);
  showFile(link, { url: data.url, rows: data.rows }, data.file_name);
  say(link, () => t(key, { name: data.file_name, rows: number(data.rows ?? 0) }), false);
  say($(".expires", box), () => (data.expires_at ? t("export.expires", { when: when(data.expires_at) }) : ""), false);
  show(box);
}

/** The chosen run's issued invoices as a QuickBooks or Xero import file. */
export async function runFile(event) {
  event.preventDefault();
  const runId = $("#run-choice").value;
  const button = $("#run-file-submit");
  clearMessage($("#run-file-error"));
  show($("#run-file"), false);
  if (!runId) return;
  button.disabled = true;
  try {
    const { data } = await api("POST", `/invoice-runs/${encodeURIComponent(runId)}/exports`, { body: { format: $("#run-format").value } });
    linkTo($("#run-file"), data, "invoices.fileLink");
  } catch (error) {
    showError($("#run-file-error"), error);
  } finally {
    button.disabled = false;
  }
}

/** Closing asks first (nothing dated in the month can change afterwards); reopening is an admin's. */
export async function closeOrReopen(closed) {
  const month = state.invoices.month;
  clearMessage($("#invoices-error"), $("#invoices-result"));
  if (!month) return;
  if (closed && !(await confirmDialog(() => t("period.closeConfirm", { month: monthName(month) }), { ok: "period.close" }))) return;
  const button = closed ? $("#period-close") : $("#period-reopen");
  button.disabled = true;
  try {
    const { data } = await api("POST", `/periods/${month}/${closed ? "close" : "reopen"}`);
    if (state.invoices.month === month) state.invoices.period = data;
    notice($("#invoices-result"), closed ? "period.closedDone" : "period.reopenedDone", () => ({ month: monthName(month) }));
  } catch (error) {
    showError($("#invoices-error"), error);
  } finally {
    button.disabled = false;
  }
  renderInvoices();
}

// ---------------------------------------------------------------- one invoice, its lines

export async function openInvoice(invoiceId) {
  const dialog = $("#invoice-drawer");
  const current = ticket("invoice"); // the invoice last opened, never an older answer
  clearMessage($("#invoice-drawer-error"));
  state.invoices.open = null;
  renderInvoice();
  if (!dialog.open) dialog.showModal();
  try {
    const { data } = await api("GET", `/invoices/${encodeURIComponent(invoiceId)}`);
    if (!current()) return;
    state.invoices.open = data;
  } catch (error) {
    if (current()) showError($("#invoice-drawer-error"), error);
    return;
  }
  renderInvoice();
}

export function renderInvoice() {
  const invoice = state.invoices.open;
  say($("#invoice-drawer-title"), () => (invoice ? t("invoices.drawerTitle", { number: invoice.number || t("invoices.noNumber"),
    client: groupName(invoice.group_id) }) : t("sessions.loading")), true);
  const figures = invoice ? [
    ["invoices.col.status", statusText(invoice)],
    ["invoices.issuedAt", invoice.issued_at ? when(invoice.issued_at) : "—"],
    ...(invoice.issued_by ? [["invoices.issuedBy", whoName(invoice.issued_by)]] : []),
    ["invoices.col.due", date(invoice.due_date)],
    ["invoices.subtotal", money(invoice.subtotal, invoice.currency)],
    ["invoices.tax", t("invoices.taxOf", { rate: money(invoice.tax_rate), tax: money(invoice.tax, invoice.currency) })],
    ["invoices.col.total", money(invoice.total, invoice.currency)],
  ] : [];
  if (invoice && invoice.credit_note_of) figures.push(["invoices.creditOf", numberOf(invoice.credit_note_of)]);
  if (invoice && invoice.credited_by) figures.push(["invoices.creditedBy", numberOf(invoice.credited_by)]);
  if (invoice && invoice.voided_by) figures.push(["invoices.voidedBy", whoName(invoice.voided_by)]);
  $("#invoice-figures").replaceChildren(...figures.flatMap(([key, value]) => [h("dt", {}, t(key)), h("dd", {}, value)]));
  $("#invoice-lines tbody").replaceChildren(...(invoice ? invoice.lines : []).map((line) => h("tr", { dataset: { kind: line.kind } },
    cell("invoices.line.what", { class: "what" }, line.description, h("small", { class: "id" }, ` · ${t(`invoices.kind.${line.kind}`)}`)),
    cell("invoices.line.date", { class: "date" }, date(line.service_date)),
    cell("invoices.line.quantity", { class: "num" }, number(Number(line.quantity))),
    cell("invoices.line.unit", { class: "num" }, money(line.unit_amount, invoice.currency)),
    cell("invoices.line.amount", { class: "num amount" }, money(line.amount, invoice.currency)))));
}

/** A person by their name (else email), an API token by its label, else its id. */
function whoName(actor) {
  return actor.name || (actor.kind === "token" ? t("invoices.token", { id: actor.id }) : actor.id);
}

function numberOf(invoiceId) {
  const found = (state.invoices.list || []).find((invoice) => invoice.invoice_id === invoiceId);
  return found && found.number ? found.number : invoiceId;
}
