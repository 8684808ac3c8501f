import { api } from "./api.js";
import { $, $$, can, state } from "./state.js";
import { clearMessage, notice, showError } from "./errors.js";
import { number } from "./format.js";
import { clearFieldErrors, fieldError } from "./profiles.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- invoice settings (admins edit, finance reads)

// The seller (issuer: legal name, address, VAT id, IBAN, country, e-mail), the numbering (prefixes,
// next numbers, digits) and the time zone the invoices' dates are in. Only the fields changed are sent.

const NUMBERS = ["next_number", "digits", "credit_next_number"];
const TEXTS = ["prefix", "credit_prefix", "time_zone"];
const ISSUER = ["legal_name", "address", "tax_id", "iban", "country", "email"];

let cached = null; // the settings last read: the next numbers a question names
let reading = null;

/** The tenant's settings, read once (again with `fresh`): null when they cannot be read. */
export async function settingsOf(fresh = false) {
  if (fresh) cached = null; // (a question asked meanwhile waits for the fresh read)
  if (cached) return cached;
  if (!reading) {
    reading = api("GET", "/settings/invoicing").then(({ data }) => { cached = data; return data; }, () => null)
      .finally(() => { reading = null; });
  }
  return reading;
}

/** The number the next invoice (or credit note) takes: prefix + next number, zero-padded to `digits`. */
export function invoiceNumberText(settings, credit = false) {
  const next = String(credit ? settings.credit_next_number : settings.next_number);
  return `${credit ? settings.credit_prefix : settings.prefix}${next.padStart(settings.digits, "0")}`;
}

export async function loadSettings() {
  const form = $("#invoice-settings");
  clearMessage($("#settings-error"));
  cached = null;
  const data = await settingsOf(true);
  if (!data) {
    try { await api("GET", "/settings/invoicing"); } catch (error) { showError($("#settings-error"), error); }
    return;
  }
  for (const name of [...NUMBERS, ...TEXTS]) form.elements.namedItem(name).value = data[name] ?? "";
  for (const name of ISSUER) form.elements.namedItem(`issuer.${name}`).value = (data.issuer || {})[name] ?? "";
  form.dataset.loaded = JSON.stringify(bodyOf(form));
  renderSettings();
}

export function renderSettings() {
  const form = $("#invoice-settings");
  const editable = can("admin");
  for (const field of $$("input, textarea", form)) field.readOnly = !editable;
  $("#settings-save").hidden = !editable;
  $("#settings-readonly").hidden = editable;
  if (!cached) return;
  say($("#settings-next"), () => t("settings.next", {
    invoice: invoiceNumberText(cached), credit: invoiceNumberText(cached, true),
    last: cached.last_issued ? number(cached.last_issued) : t("settings.noneIssued") }), true);
}

/** The form as PUT /v1/settings/invoicing takes it (what is typed wrong is sent as typed: the API names it). */
function bodyOf(form) {
  const value = (name) => form.elements.namedItem(name).value.trim();
  const body = {};
  for (const name of NUMBERS) if (value(name) !== "") body[name] = /^\d+$/.test(value(name)) ? Number(value(name)) : value(name);
  for (const name of TEXTS) body[name] = value(name);
  const issuer = {};
  for (const name of ISSUER) {
    const text = name === "iban" || name === "country" ? value(`issuer.${name}`).replace(/\s+/g, "").toUpperCase() : value(`issuer.${name}`);
    if (text !== "" || name === "legal_name") issuer[name] = text;
  }
  body.issuer = issuer;
  return body;
}

export async function saveSettings(event) {
  event.preventDefault();
  const form = $("#invoice-settings");
  clearFieldErrors(form);
  clearMessage($("#settings-error"), $("#settings-result"));
  const body = bodyOf(form);
  const before = JSON.parse(form.dataset.loaded || "{}");
  for (const name of Object.keys(body)) if (JSON.stringify(body[name]) === JSON.stringify(before[name])) delete body[name];
  if (!Object.keys(body).length) { notice($("#settings-result"), "settings.unchanged"); return; }
  $("#settings-save").disabled = true;
  try {
    cached = (await api("PUT", "/settings/invoicing", { body })).data;
    notice($("#settings-result"), "settings.saved");
    await loadSettings();
  } catch (error) {
    if (!fieldError(form, error)) showError($("#settings-error"), error);
  } finally {
    $("#settings-save").disabled = false;
  }
}

export function forgetSettings() {
  cached = null;
  state.invoices = { month: null, list: null, period: null, run: null, open: null };
}
