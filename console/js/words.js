import { show } from "./dom.js";
import { STRINGS } from "./i18n.js";
import { $, $$, state } from "./state.js";

// ---------------------------------------------------------------- words

export function t(key, params = {}) {
  const text = STRINGS[state.lang][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in params ? String(params[name]) : `{${name}}`));
}

/** {sessions} of a sentence about `count` sessions. */
export function counted(count) {
  return { count, sessions: t(count === 1 ? "word.session" : "word.sessions") };
}

// Every message on the page keeps how it was made, so a language switch rewrites it in place.
export const spoken = new Set();
export function say(element, words, visible = true) {
  element._words = words;
  element.textContent = words();
  spoken.add(element);
  if (visible) show(element);
}

export function applyLanguage() {
  document.documentElement.lang = state.lang;
  for (const element of $$("[data-i18n]")) element.textContent = t(element.dataset.i18n);
  document.title = t("app.title");
  for (const input of $$("input.date")) input.placeholder = t("date.placeholder");
  for (const id of ["#month", "#invoices-month"]) $(id).placeholder = t("month.placeholder");
  for (const element of [...spoken]) {
    if (!element.isConnected) { spoken.delete(element); continue; }
    try {
      if (element._words) element.textContent = element._words();
    } catch (failure) {
      spoken.delete(element); // words about something gone: never let one stop the others
    }
  }
}
