// The console's languages: one file of words per language in ../i18n/, loaded as native modules.
import en from "../i18n/en.js";
import fr from "../i18n/fr.js";
import it from "../i18n/it.js";

export const STRINGS = { en, fr, it };
export const LANGUAGES = { en: "English", fr: "Français", it: "Italiano" };

/** The browser's preferred language that the console speaks, else English. */
export function preferredLanguage(languages = navigator.languages || [navigator.language]) {
  for (const tag of languages) {
    const base = String(tag || "").toLowerCase().split("-")[0];
    if (base in STRINGS) return base;
  }
  return "en";
}
