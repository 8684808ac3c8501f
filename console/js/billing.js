import { api } from "./api.js";
import { h } from "./dom.js";
import { clearMessage, notice, showError } from "./errors.js";
import { clearFieldErrors, fieldError } from "./profiles.js";
import { groupName } from "./sessions.js";
import { $, $$, can, state, ticket } from "./state.js";

// ---------------------------------------------------------------- a client's billing details (admins edit, finance reads)

// What a client's invoices say and charge: its legal name, address, VAT number, e-mail and country,
// its tax rate (and code), payment terms, language and detail (a line per session or one line).
// Read with GET /v1/groups/{group_id}/billing, saved with PUT /v1/groups/{group_id} {name, billing}.

const TEXTS = ["legal_name", "address", "tax_id", "email", "country", "tax_code"];

/** The client choice, in the clients' names (sorted as the page's language sorts). */
export function fillBillingClients() {
  const select = $("#billing-group");
  const chosen = select.value;
  const groups = [...state.groups].sort((a, b) => groupName(a.group_id).localeCompare(groupName(b.group_id), undefined, { sensitivity: "base" }));
  select.replaceChildren(...groups.map((g) => h("option", { value: g.group_id }, g.name && g.name !== g.group_id ? `${g.name} (${g.group_id})` : g.group_id)));
  if (groups.some((g) => g.group_id === chosen)) select.value = chosen;
  const form = $("#client-billing");
  for (const field of $$("input, textarea", form)) field.readOnly = !can("admin");
  for (const field of $$("select:not(#billing-group)", form)) field.disabled = !can("admin");
  $("#billing-save").hidden = !can("admin");
}

export async function loadBilling() {
  const form = $("#client-billing");
  const group = $("#billing-group").value;
  clearFieldErrors(form);
  clearMessage($("#billing-error"), $("#billing-result"));
  form.dataset.group = "";
  for (const field of $$("[name^='billing.']", form)) field.value = "";  // nothing of the former client meanwhile
  if (!group) return;
  const current = ticket("billing"); // the client last chosen, never an older answer
  try {
    const { data } = await api("GET", `/groups/${encodeURIComponent(group)}/billing`);
    if (!current()) return;
    const billing = data.billing || {};
    for (const name of [...TEXTS, "tax_rate", "payment_terms_days", "locale", "detail"]) {
      form.elements.namedItem(`billing.${name}`).value = billing[name] ?? "";
    }
    form.dataset.group = group;
  } catch (error) {
    if (current()) showError($("#billing-error"), error);
  }
}

/** The form as PUT /v1/groups/{group_id} takes `billing` (typed text is sent as typed: the API names what is wrong). */
function billingOf(form) {
  const value = (name) => form.elements.namedItem(`billing.${name}`).value.trim();
  const billing = {};
  for (const name of TEXTS) if (value(name)) billing[name] = name === "country" ? value(name).toUpperCase() : value(name);
  billing.tax_rate = value("tax_rate").replace(",", ".") || "0.00";
  const terms = value("payment_terms_days");
  billing.payment_terms_days = /^\d+$/.test(terms) ? Number(terms) : terms || 30;
  billing.locale = value("locale");
  billing.detail = value("detail");
  return billing;
}

export async function saveBilling(event) {
  event.preventDefault();
  const form = $("#client-billing");
  const group = form.dataset.group;
  clearFieldErrors(form);
  clearMessage($("#billing-error"), $("#billing-result"));
  if (!group) return;
  $("#billing-save").disabled = true;
  try {
    await api("PUT", `/groups/${encodeURIComponent(group)}`, { body: { name: groupName(group), billing: billingOf(form) } });
    notice($("#billing-result"), "billing.saved", () => ({ client: groupName(group) }));
  } catch (error) {
    if (!fieldError(form, error)) showError($("#billing-error"), error);
  } finally {
    $("#billing-save").disabled = false;
  }
}
