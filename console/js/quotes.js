import { api } from "./api.js";
import { h, show } from "./dom.js";
import { pricingLine } from "./drawer.js";
import { clearMessage, fieldName, showError } from "./errors.js";
import { cents, centsText, clock, day, hours, money, readDay, sameDay, shiftDay, when, zone, zonedInstant } from "./format.js";
import { clearFieldErrors, fieldError, i18nSpan, profileBody } from "./profiles.js";
import { readInteger } from "./sessions.js";
import { showView } from "./signin.js";
import { $, $$, state } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- quotes (staff)

export let quoteInline = null; // the profile form's terms, when "Try a quote" opened this screen: {name, body}
export function forgetQuoteForm() { quoteInline = null; }
export const FORM_PROFILE = "(form)"; // the quote select's value for them (no stored id has parentheses... nor needs to)

/** "02/11/2026 17:30" → {day: "2026-11-02", minutes: 1050}; "17:30" alone → {day: null, minutes}; else null. */
export function readMoment(text) {
  const value = String(text || "").trim();
  const match = /^(?:(\S+)\s+)?(\d{1,2})[h:.](\d{2})$/i.exec(value);
  if (!match || Number(match[2]) > 24 || Number(match[3]) > 59) return null;
  const day = match[1] ? readDay(match[1]) : null;
  if (match[1] && !day) return null;
  return { day, minutes: Number(match[2]) * 60 + Number(match[3]) };
}

/** A day and minute of the day on the tenant's clock → ISO 8601 with its offset at that instant. */
export const localInstant = zonedInstant;

export function quoteRow() {
  const row = h("div", { class: "quote-session" },
    h("span", { class: "quote-n" }),
    h("label", { class: "moment" }, i18nSpan("quote.start"), h("input", { dataset: { part: "started_at" }, class: "moment", autocomplete: "off" })),
    h("label", { class: "moment" }, i18nSpan("quote.end"), h("input", { dataset: { part: "ended_at" }, class: "moment", autocomplete: "off" })),
    h("label", { class: "clock" }, i18nSpan("col.extra"), h("input", { dataset: { part: "extra_minutes" }, inputmode: "numeric", size: "5" })),
    h("button", { type: "button", class: "link remove-session", onclick: () => { row.remove(); numberQuoteRows(); } }, i18nSpan("quote.remove")));
  return row;
}

export function numberQuoteRows() {
  $$("#quote-sessions .quote-session").forEach((row, index) => {
    $(".quote-n", row).textContent = `${index + 1}.`;
    for (const input of $$("[data-part]", row)) input.name = `sessions[${index}].${input.dataset.part}`;
    for (const input of $$("input.moment", row)) input.placeholder = t("quote.placeholder");
    $(".remove-session", row).hidden = index === 0 && $$("#quote-sessions .quote-session").length === 1;
  });
}

export async function openQuote() {
  if (!$$("#quote-sessions .quote-session").length) { $("#quote-sessions").append(quoteRow()); numberQuoteRows(); }
  clearMessage($("#quote-error"));
  try {
    state.profiles = (await api("GET", "/profiles")).data.profiles || [];
  } catch (error) {
    showError($("#quote-error"), error);
  }
  fillQuoteProfiles();
}

export function fillQuoteProfiles() {
  const select = $("#quote-profile");
  const previous = select.value;
  const options = state.profiles.map((p) => h("option", { value: p.profile_id }, `${p.name} (${t(`type.${p.type}`)}, v${p.version})`));
  if (quoteInline) options.unshift(h("option", { value: FORM_PROFILE }, t("quote.formProfile", { name: quoteInline.name || "—" })));
  select.replaceChildren(...options);
  if (quoteInline && state.quotePick === FORM_PROFILE) select.value = FORM_PROFILE;
  else if ([...select.options].some((o) => o.value === previous)) select.value = previous;
  state.quotePick = null;
}

/** "Try a quote" from the profile form: its terms, saved or not, priced inline. */
export function quoteFromForm() {
  const body = profileBody($("#profile-form"));
  delete body.profile_id;
  quoteInline = { name: body.name, body };
  state.quotePick = FORM_PROFILE;
  showView("quote");
}

export async function runQuote(event) {
  event.preventDefault();
  const form = $("#quote-form");
  clearFieldErrors(form);
  clearMessage($("#quote-error"));
  const sessions = [];
  for (const [index, row] of $$("#quote-sessions .quote-session").entries()) {
    const input = (part) => $(`[data-part=${part}]`, row);
    const start = readMoment(input("started_at").value);
    const end = readMoment(input("ended_at").value);
    for (const [moment, part, needsDay] of [[start, "started_at", true], [end, "ended_at", false]]) {
      if (moment && (moment.day || !needsDay)) continue;
      // Said here, at the field, in the page's format: the API would only see a malformed timestamp.
      const target = input(part);
      target.classList.add("invalid");
      const small = h("small", { class: "field-error", role: "alert" });
      target.closest("label").append(small);
      say(small, () => t("quote.badMoment", { field: fieldName(`sessions[${index}].${part}`), example: t("quote.placeholder") }));
      target.focus();
      return;
    }
    let endDay = end.day || start.day;
    if (!end.day && end.minutes < start.minutes) endDay = shiftDay(start.day, 1); // "23:00" to "01:00": the night through
    const session = { started_at: localInstant(start.day, start.minutes), ended_at: localInstant(endDay, end.minutes) };
    const extra = input("extra_minutes").value.trim();
    if (extra) session.extra_minutes = readInteger(extra);
    sessions.push(session);
  }
  const pick = $("#quote-profile").value;
  const body = pick === FORM_PROFILE && quoteInline ? { profile: quoteInline.body, sessions } : { profile_id: pick, sessions };
  if (pick === FORM_PROFILE && quoteInline) delete body.profile.name;
  try {
    const { data } = await api("POST", "/quotes", { body });
    state.quoted = { sessions, answers: data.sessions || [] };
    renderQuote();
    $("#quote-result").scrollIntoView({ block: "nearest" });
  } catch (error) {
    if (!(error.field && fieldError(form, error))) showError($("#quote-error"), error);
  }
}


export function renderQuote() {
  numberQuoteRows(); // placeholders in the page's language
  if (state.view === "quote") fillQuoteProfiles();
  const quoted = state.quoted;
  show($("#quote-result"), Boolean(quoted));
  if (!quoted) return;
  let total = 0n, billed = 0, currency = null, priced = false;
  $("#quote-lines").replaceChildren(...quoted.answers.map((answer, index) => {
    const asked = quoted.sessions[index];
    const period = `${when(asked.started_at)} – ${sameDay(asked.started_at, asked.ended_at) ? clock(asked.ended_at) : when(asked.ended_at)}`;
    if (answer.recorded === false) {
      return h("li", { class: "quoted-session below" }, h("div", { class: "quoted-head" }, h("span", {}, period), h("span", { class: "muted" }, t("quote.below"))));
    }
    billed += answer.billed_minutes;
    currency = answer.currency;
    if (answer.cost !== null && answer.cost !== undefined) { total += cents(answer.cost); priced = true; }
    const pricing = answer.pricing || { lines: [] };
    return h("li", { class: "quoted-session", dataset: { index } },
      h("div", { class: "quoted-head" },
        h("span", { class: "when" }, period),
        h("span", { class: "figures-line" },
          h("span", { class: "billed" }, t("quote.billed", { billed: hours(answer.billed_minutes) })), " · ",
          h("span", { class: "multiplier" }, `×${money(answer.multiplier)}`), " · ",
          h("strong", { class: "cost" }, answer.cost === null ? t("quote.fromBalance") : money(answer.cost, answer.currency)))),
      h("ul", { class: "pricing-lines" }, ...(pricing.lines || []).map((line) => pricingLine(line, answer.currency, false))));
  }));
  $("#quote-total").textContent = priced ? t("quote.total", { billed: hours(billed), cost: money(centsText(total), currency) }) : t("quote.totalSub", { billed: hours(billed) });
}
