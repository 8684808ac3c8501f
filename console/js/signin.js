import { api } from "./api.js";
import { loadClients } from "./clients.js";
import { forgetConnections, loadConnections } from "./connections.js";
import { show } from "./dom.js";
import { clearMessage, describe, notice, showError } from "./errors.js";
import { loadEvents } from "./events.js";
import { forgetImport, openImports } from "./imports.js";
import { fillBillingClients, loadBilling } from "./billing.js";
import { loadInvoices } from "./invoices.js";
import { forgetSettings, loadSettings } from "./invoicesettings.js";
import { loadMonth } from "./month.js";
import { forgetPerson } from "./people.js";
import { loadProfiles } from "./profiles.js";
import { forgetQuoteForm, openQuote } from "./quotes.js";
import { loadGroups } from "./sessions.js";
import { loadSimulationChoices } from "./simulate.js";
import { offerSso } from "./sso.js";
import { $, $$, TOKEN_KEY, can, state } from "./state.js";
import { loadTokens } from "./tokens.js";
import { loadUsers } from "./users.js";
import { renderTotals } from "./totals.js";
import { say, spoken, t } from "./words.js";

// ---------------------------------------------------------------- sign-in

export async function signIn(token) {
  const errorBox = $("#signin-error");
  clearMessage(errorBox);
  if (!token) { notice(errorBox, "signin.empty"); return; }
  state.token = token;
  notice(errorBox, "signin.checking");
  let me;
  try {
    me = (await api("GET", "/me")).data;
  } catch (error) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    showError(errorBox, error);
    return;
  }
  clearMessage(errorBox);
  if (!["admin", "technician", "finance"].includes(me.role)) {
    state.token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    notice(errorBox, "signin.agent");
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  state.me = me;
  state.zone = me.time_zone || null; // the tenant's zone, when the API says it (else the browser's)
  state.role = me.role;
  document.body.dataset.role = me.role;
  $("#token").value = "";
  applyRole();
  await loadGroups();
}

export function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  forgetPerson();
  Object.assign(state, {
    token: null, me: null, role: null, groups: [], sessions: [], cursor: null, query: null, totals: null, profiles: [],
    monthRows: [], client: null, computers: [], contracts: [], tokens: [], events: [], simulation: null, quoted: null,
  });
  delete document.body.dataset.role;
  // Leave nothing of the previous user's data on the page.
  for (const body of $$("table:not(.figures) tbody")) body.replaceChildren();
  $("#group").replaceChildren();
  for (const id of ["#sessions-view", "#month-view", "#clients-view", "#profiles-view", "#tokens-view", "#nav", "#whoami", "#tenant",
    "#signout", "#export-result", "#profile-form", "#history", "#client-detail", "#token-new", "#month-export", "#balance",
    "#simulate-result", "#quote-result", "#quote-view", "#invoices-view", "#invoice-file", "#run-file", "#imports-view"]) show($(id), false);
  $("#simulate tbody").replaceChildren();
  $("#quote-lines").replaceChildren();
  $("#quote-sessions").replaceChildren();
  forgetQuoteForm();
  forgetSettings();
  forgetImport();
  forgetConnections();
  for (const element of [...spoken]) clearMessage(element);
  offerSso(); // its button's words were among them
  renderTotals();
  show($("#signin-view"));
  if (message) say($("#signin-error"), message);
  $("#token").focus();
}

export function expire(error) {
  signOut(() => t("session.expired", { message: describe(error) }));
}

export function applyRole() {
  show($("#signin-view"), false);
  show($("#nav"));
  const label = state.me.label || (state.me.actor && state.me.actor.name); // a token's label, a person's name
  say($("#whoami"), () => (label ? t("signedinAs", { label, role: t(`role.${state.role}`) }) : t("signedin", { role: t(`role.${state.role}`) })));
  say($("#tenant"), () => state.me.tenant_name || state.me.tenant_id);
  show($("#signout"));
  show($("#tab-month"), can("month"));
  show($("#tab-quote"), can("quote"));
  show($("#tab-invoices"), can("invoices"));
  for (const id of ["#tab-clients", "#tab-profiles", "#tab-tokens", "#tab-imports"]) show($(id), can("admin"));
  show($("#export"), can("export"));
  show($("#recharge"), can("recharge"));
  showView("sessions");
}

export function showView(view) {
  if ((view === "month" && !can("month")) || (view === "invoices" && !can("invoices")) || (["clients", "profiles", "tokens", "imports"].includes(view) && !can("admin"))) view = "sessions";
  state.view = view;
  for (const name of ["sessions", "month", "invoices", "quote", "clients", "profiles", "tokens", "imports"]) show($(`#${name}-view`), view === name);
  for (const tab of $$(".tab")) tab.classList.toggle("active", tab.dataset.view === view);
  if (view === "profiles") loadProfiles();
  if (view === "clients") loadClients();
  if (view === "tokens") { loadTokens(); loadUsers(); }
  if (view === "imports") { openImports(); loadConnections(); }
  // The month of every client is read once per month asked ("Show the month" reads it again): with
  // hundreds of clients it is the console's heaviest read, not one to repeat at every tab.
  if (view === "month") { if (!state.monthRows.length) loadMonth(); loadSimulationChoices(); loadEvents(); }
  if (view === "quote") openQuote();
  if (view === "invoices") { loadInvoices(); loadSettings(); fillBillingClients(); loadBilling(); }
}
