import { inFlight } from "./api.js";
import { loadBilling, saveBilling } from "./billing.js";
import { assignProfile, putComputer, renderClient, renderClients, saveClient } from "./clients.js";
import { renderConnections, wireConnections } from "./connections.js";
import { h } from "./dom.js";
import { loadEvents, renderEvents } from "./events.js";
import { exportCsv, formatOptions, showDelimiter } from "./exports.js";
import { dayText, monthText, readDay, readMonth, shiftMonth } from "./format.js";
import { closeOrReopen, issueAll, loadInvoices, renderInvoice, renderInvoices, runFile, startRun } from "./invoices.js";
import { renderSettings, saveSettings } from "./invoicesettings.js";
import { LANGUAGES, STRINGS, preferredLanguage } from "./i18n.js";
import { renderImport, wireImports } from "./imports.js";
import { onKey } from "./keys.js";
import { lockPicked } from "./lock.js";
import { defaultMonth, loadMonth, monthExport, renderMonth } from "./month.js";
import { closeProfileForm, numberRules, openProfileForm, renderProfiles, ruleRow, saveProfile, showTypeFields } from "./profiles.js";
import { FORM_PROFILE, fillQuoteProfiles, forgetQuoteForm, numberQuoteRows, quoteFromForm, quoteRow, renderQuote, runQuote } from "./quotes.js";
import { loadPage, lockAll, renderSessions, search, setPeriod } from "./sessions.js";
import { endPerson, keptPerson, loadConfig, offered, personSignIn, resume } from "./people.js";
import { showView, signIn, signOut } from "./signin.js";
import { renderSimulation, runSimulation } from "./simulate.js";
import { finishSso, offerSso, startSso } from "./sso.js";
import { $, $$, LANG_KEY, TOKEN_KEY, can, state } from "./state.js";
import { issueToken, renderTokens } from "./tokens.js";
import { inviteUser, renderUsers } from "./users.js";
import { loadTotals, recharge, renderTotals } from "./totals.js";
import { applyLanguage } from "./words.js";

// ---------------------------------------------------------------- wiring


function setLanguage(lang) {
  const days = { from: readDay($("#from").value), to: readDay($("#to").value) };
  const month = readMonth($("#month").value);
  const invoiceMonth = readMonth($("#invoices-month").value);
  state.lang = lang in STRINGS ? lang : "en";
  localStorage.setItem(LANG_KEY, state.lang);
  $("#lang").value = state.lang;
  // Dates typed in the former language's format are rewritten in the new one.
  for (const name of ["from", "to"]) if (days[name]) $(`#${name}`).value = dayText(days[name]);
  if (month) $("#month").value = monthText(month);
  if (invoiceMonth) $("#invoices-month").value = monthText(invoiceMonth);
  applyLanguage();
  renderAll();
}

function renderAll() {
  if (!state.role) return;
  renderSessions();
  renderTotals();
  formatOptions($("#export-format"));
  if (can("month")) { renderMonth(); renderSimulation(); renderEvents(); }
  renderQuote();
  if (can("invoices")) { renderInvoices(); renderInvoice(); renderSettings(); }
  if (can("admin")) { renderProfiles(); renderClients(); renderClient(); renderTokens(); renderUsers(); renderImport(); renderConnections(); }
}

function start() {
  const languages = $("#lang");
  languages.replaceChildren(...Object.entries(LANGUAGES).map(([code, name]) => h("option", { value: code }, name)));
  state.lang = localStorage.getItem(LANG_KEY) in STRINGS ? localStorage.getItem(LANG_KEY) : preferredLanguage();
  languages.value = state.lang;
  languages.addEventListener("change", () => setLanguage(languages.value));
  applyLanguage();

  $("#signin-form").addEventListener("submit", (event) => { event.preventDefault(); signIn($("#token").value.trim()); });
  $("#people-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const token = await personSignIn();
    if (token) signIn(token);
  });
  $("#sso-signin").addEventListener("click", () => startSso());
  $("#signout").addEventListener("click", () => { endPerson(); signOut(); });
  for (const tab of $$(".tab")) tab.addEventListener("click", () => showView(tab.dataset.view));
  $("#filter").addEventListener("submit", (event) => { event.preventDefault(); search(); });
  for (const id of ["#group", "#status", "#from", "#to"]) $(id).addEventListener("change", () => search());
  $("#text").addEventListener("input", () => renderSessions());
  for (const button of $$("#sessions .sort")) {
    button.addEventListener("click", () => {
      state.sort = { key: button.dataset.sort, dir: state.sort.key === button.dataset.sort ? -state.sort.dir : 1 };
      renderSessions();
    });
  }
  for (const button of $$("[data-period]")) button.addEventListener("click", () => setPeriod(button.dataset.period));
  $("#more").addEventListener("click", () => loadPage());
  $("#lock-all").addEventListener("click", () => lockAll());
  $("#lock-selected").addEventListener("click", () => lockPicked());
  $("#totals-refresh").addEventListener("click", () => loadTotals());
  $("#recharge").addEventListener("submit", recharge);
  $("#export").addEventListener("submit", exportCsv);
  $("#export-format").addEventListener("change", showDelimiter);
  $("#month-export-all").addEventListener("click", (event) => monthExport(null, event.currentTarget));
  formatOptions($("#export-format"));
  formatOptions($("#month-format"));
  $("#month-form").addEventListener("submit", (event) => { event.preventDefault(); loadMonth(); });
  $("#month-prev").addEventListener("click", () => { state.month = shiftMonth(state.month || defaultMonth(), -1); $("#month").value = monthText(state.month); loadMonth(); });
  $("#month-next").addEventListener("click", () => { state.month = shiftMonth(state.month || defaultMonth(), 1); $("#month").value = monthText(state.month); loadMonth(); });
  $("#client-form").addEventListener("submit", (event) => { event.preventDefault(); saveClient($("#client-id").value.trim(), $("#client-name").value); });
  $("#computer-form").addEventListener("submit", (event) => { event.preventDefault(); putComputer(state.client, $("#computer-id").value.trim(), $("#computer-name").value); });
  $("#assign").addEventListener("click", () => assignProfile());
  $("#profile-new").addEventListener("click", () => openProfileForm(null));
  $("#profile-cancel").addEventListener("click", closeProfileForm);
  $("#profile-form").addEventListener("submit", saveProfile);
  $("#profile-form").elements.namedItem("type").addEventListener("change", showTypeFields);
  $("#token-form").addEventListener("submit", issueToken);
  $("#user-form").addEventListener("submit", inviteUser);
  $("#surcharge-add").addEventListener("click", () => { $("#surcharge-rules").append(ruleRow()); numberRules(); $("#surcharge-rules .rule:last-child input").focus(); });
  $("#profile-quote").addEventListener("click", quoteFromForm);
  $("#quote-add").addEventListener("click", () => { $("#quote-sessions").append(quoteRow()); numberQuoteRows(); });
  $("#quote-form").addEventListener("submit", runQuote);
  $("#quote-profile").addEventListener("change", () => { if ($("#quote-profile").value !== FORM_PROFILE) { forgetQuoteForm(); fillQuoteProfiles(); } });
  $("#simulate").addEventListener("submit", runSimulation);
  $("#month-invoice").addEventListener("click", () => { $("#invoices-month").value = monthText(state.month || defaultMonth()); showView("invoices"); });
  $("#invoices-form").addEventListener("submit", (event) => { event.preventDefault(); loadInvoices(); });
  for (const [id, by] of [["#invoices-prev", -1], ["#invoices-next", 1]]) {
    $(id).addEventListener("click", () => { if (state.invoices.month) loadInvoices(shiftMonth(state.invoices.month, by)); });
  }
  $("#invoices-status").addEventListener("change", () => renderInvoices());
  $("#invoice-run").addEventListener("click", () => startRun());
  $("#invoices-issue-all").addEventListener("click", () => issueAll());
  $("#period-close").addEventListener("click", () => closeOrReopen(true));
  $("#period-reopen").addEventListener("click", () => closeOrReopen(false));
  $("#run-files").addEventListener("submit", runFile);
  $("#invoice-settings").addEventListener("submit", saveSettings);
  $("#client-billing").addEventListener("submit", saveBilling);
  $("#billing-group").addEventListener("change", () => loadBilling());
  $("#invoice-drawer-close").addEventListener("click", () => $("#invoice-drawer").close());
  $("#events-refresh").addEventListener("click", () => loadEvents());
  $("#drawer-close").addEventListener("click", () => $("#drawer").close());
  wireImports();
  wireConnections();
  document.addEventListener("keydown", onKey);

  const token = sessionStorage.getItem(TOKEN_KEY);
  const person = keptPerson(); // a person signed in this tab: a fresh access token from the refresh token
  signOut(); // the sign-in form, until the stored token (if any) is accepted again
  if (token && !person) signIn(token);
  document.body.dataset.ready = "true";
  loadConfig().then(async () => {
    $("#people-form").hidden = !offered();
    offerSso();
    const returned = await finishSso(); // back from single sign-on: its access token, or null (the page says why)
    const renewed = returned !== undefined ? returned : person && offered() ? await resume(person) : null;
    if (renewed) signIn(renewed);
  });
  performance.mark("console-ready"); // every module loaded and every control wired: interactive
  if (!inFlight) document.body.dataset.busy = "false";
}

start();
