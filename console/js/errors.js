import { show } from "./dom.js";
import { day, hours, number, zone } from "./format.js";
import { STRINGS } from "./i18n.js";
import { state } from "./state.js";
import { recharge } from "./totals.js";
import { say, spoken, t } from "./words.js";

// ---------------------------------------------------------------- errors in words

export class ApiError extends Error {
  constructor(status, code, message, data = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.data = data;
    // A 4xx says "field: reason": keep the field to show the error next to it and name it.
    // ("surcharges[2].from: ..." names a field of the third rule)
    const named = status >= 400 && status < 500 ? /^([A-Za-z_][A-Za-z0-9_.\-\[\]]*): (.*)$/s.exec(message || "") : null;
    this.field = named ? named[1] : null;
    this.reason = named ? named[2] : message;
  }
}

// The API keeps machine codes and English reasons; the console says them in the page's language.
export const REASONS = [
  [/^is required/, "reason.required"],
  [/^must be between (-?\d+) and (-?\d+)/, "reason.between", ["low", "high"]],
  [/^must be at most (\d+) characters/, "reason.maxChars", ["max"]],
  [/^must be a string of 1 to (\d+) characters/, "reason.idLength", ["max"]],
  [/^must be at most ([\d.]+)/, "reason.atMost", ["max"]],
  [/^must be at least ([\d.]+)/, "reason.atLeast", ["min"]],
  [/^must be greater than 0/, "reason.positive"],
  [/^must not be empty/, "reason.empty"],
  [/^must not be negative/, "reason.negative"],
  [/^must not be before (\w+)/, "reason.notBefore", ["other"]],
  [/^must (?:be a decimal number|be written as plain digits|be an exact decimal)/, "reason.decimal"],
  [/^must have at most 2 decimal places/, "reason.places"],
  [/^must be a whole number of minutes/, "reason.wholeMinutes"],
  [/^must be a whole number from (\d+) to (\d+)/, "reason.wholeRange", ["low", "high"]],
  [/^must be an integer|^must be a whole number/, "reason.integer"],
  [/^must be one of (.+)$/, "reason.oneOf", ["values"]],
  [/^must not contain control characters/, "reason.control"],
  [/^must not contain '\/'/, "reason.slash"],
  [/^must not contain a lone UTF-16 surrogate/, "reason.surrogate"],
  [/^must be a 3-letter ISO 4217 code/, "reason.currency"],
  [/^must be a string/, "reason.string"],
  [/^must be an ISO 8601 timestamp|^must carry a UTC offset/, "reason.timestamp"],
  [/^is not a field of/, "reason.unknownField"],
  [/^is not a parameter of/, "reason.unknownParam"],
  [/^a recharge must add hours or an amount/, "reason.rechargeEmpty"],
  [/^a session (?:may last|lasts) at most 31 days/, "reason.tooLong"],
  [/^must be from ([\d.]+) to ([\d.]+)/, "reason.fromTo", ["low", "high"]],
  [/^must be a local time HH:MM|^must be a time of day/, "reason.clock"],
  [/^must be after from/, "reason.afterFrom"],
  [/^must be a date YYYY-MM-DD|^is not a calendar date|^must be a list of dates/, "reason.date"],
  [/^must be an IANA time zone|^is not a known IANA time zone/, "reason.timeZone"],
  [/^names holiday but the profile has no holidays/, "reason.holidayWithout"],
  [/^must be an ISO 3166 country code/, "reason.country"],
  [/^has no public holiday calendar/, "reason.noCalendar"],
  [/^needs holidays.country/, "reason.needsCountry"],
  [/^must be a subdivision code|^is not a subdivision of/, "reason.subdivision"],
  [/^must name a country or list dates/, "reason.holidaysEmpty"],
  [/^must be a whole percentage from 0 to 100|^must be a list of percentages/, "reason.percent"],
  [/^repeats (.+)$/, "reason.repeats", ["value"]],
  [/^must hold at most (\d+)/, "reason.holdAtMost", ["max"]],
  [/^must be a non-empty list of/, "reason.noDay"],
  [/^would cost ([\d.]+), above the limit/, "reason.tooDear", ["cost"]],
  [/^must be a JSON object|^is not valid JSON|^must be UTF-8 JSON/, "reason.json"],
  [/^give extra_minutes, notes or both/, "reason.nothingToChange"],
  [/^must be up to 20 letters, digits/, "reason.prefix"],
  [/^must be an IBAN/, "reason.iban"],
  [/^must be an e-mail address/, "reason.email"],
  [/^must be a month written/, "reason.month"],
  [/^must be a percentage from 0 to 100/, "reason.taxRate"],
  [/^must be a 2-letter ISO 3166 country code/, "reason.country"],
];

export function fieldName(field) {
  const key = `field.${field}`;
  if (key in STRINGS.en) return t(key);
  // Fields inside lists: "surcharges[2].from", "sessions[0].ended_at", "holidays.dates[3]", "profile.step_cost".
  let match = /^surcharges\[(\d+)\](?:\.(\w+))?/.exec(field);
  if (match) return t("field.surchargeRule", { n: Number(match[1]) + 1 }) + (match[2] ? ` · ${t(`field.surcharge.${match[2]}`)}` : "");
  match = /^sessions\[(\d+)\](?:\.(\w+))?/.exec(field);
  if (match) return t("field.quoteSession", { n: Number(match[1]) + 1 }) + (match[2] ? ` · ${fieldName(match[2])}` : "");
  match = /^(holidays\.\w+|alert_thresholds)\[\d+\]$/.exec(field);
  if (match) return fieldName(match[1]);
  if (field.startsWith("profile.")) return fieldName(field.slice("profile.".length));
  return field;
}

export function reasonWords(reason) {
  for (const [pattern, key, names = []] of REASONS) {
    const match = pattern.exec(reason || "");
    if (!match) continue;
    const params = Object.fromEntries(names.map((name, i) => [name, match[i + 1]]));
    if ("other" in params) params.other = fieldName(params.other);
    if ("value" in params && `day.${params.value}` in STRINGS.en) params.value = t(`day.${params.value}`);
    if ("values" in params) params.values = params.values.split(/,\s*/).map((v) => (`word.${v}` in STRINGS.en ? t(`word.${v}`) : v)).join(", ");
    return t(key, params);
  }
  return t("reason.other", { reason });
}

export const SUBJECTS = ["group", "session", "profile", "token", "export", "tenant", "job", "contract", "invoice run", "invoice"];

export function describe(error) {
  if (!(error instanceof ApiError)) return error && error.words ? error.words() : String(error && error.message ? error.message : error);
  if (error.status === 0) return t("error.network");
  if (error.code === "invalid_input" && error.field) return t("error.fieldReason", { field: fieldName(error.field), reason: reasonWords(error.reason) });
  if (error.code === "not_found") {
    const subject = SUBJECTS.find((s) => (error.message || "").startsWith(`${s} `)) || (/has no contract/.test(error.message) ? "contract" : null);
    return subject ? t(`error.notFound.${subject.replace(" ", "_")}`) : t("error.not_found");
  }
  if (error.code === "balance_open") {
    const minutes = /balance is (-?\d+) minutes/.exec(error.message || "");
    return t("error.balance_open", { balance: minutes ? hours(Number(minutes[1])) : "?" });
  }
  if (error.code === "forbidden") return t("error.forbidden", { role: t(`role.${state.role}`) });
  if (error.code === "unauthorized") return t(/revoked|unknown/.test(error.message) ? "error.unauthorized.unknown" : "error.unauthorized");
  if (error.code === "immutable_field" && error.field) return t("error.immutable_field", { field: fieldName(error.field) });
  const key = `error.${error.code}`;
  if (key in STRINGS.en) return t(key);
  return t("error.other", { status: error.status, code: error.code });
}

export function showError(element, error) {
  say(element, () => describe(error));
}

export function clearMessage(...elements) {
  for (const element of elements) { element.textContent = ""; element._words = null; spoken.delete(element); show(element, false); }
}

export function notice(element, key, params = {}) {
  say(element, () => t(key, typeof params === "function" ? params() : params));
}
