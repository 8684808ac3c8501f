import { profileName } from "./clients.js";
import { h } from "./dom.js";
import { ACTIONS } from "./drawer.js";
import { fieldName } from "./errors.js";
import { duration, hours, money, number, when } from "./format.js";
import { computerName } from "./names.js";
import { groupName } from "./sessions.js";
import { say, t } from "./words.js";

// A session's history in words, in the page's language: who did what, each value as the rest of the
// page writes it (durations, money, local dates, statuses, names), never a field's raw name or an ISO stamp.

const SECONDS = /_seconds$/;
const MOMENTS = /_at$/;

/** A value of the history as the page writes it elsewhere. */
export function historyValue(name, value, session) {
  if (value === null || value === undefined || value === "") return "—";
  if (SECONDS.test(name)) return duration(value);
  if (name === "billed_minutes") return hours(value);
  if (name === "extra_minutes") return t("history.minutes", { minutes: number(value) });
  if (name === "cost") return money(value, session.currency);
  if (name === "status") return t(`status.${value}`);
  if (MOMENTS.test(name)) return when(value);
  if (name === "profile_id") return profileName(value);
  if (name === "profile_version") return t("history.version", { version: value });
  if (name === "group_id") return groupName(value);
  if (name === "computer_id") return computerName(session.group_id, value) || value;
  if (name === "notes") return `“${value}”`;
  return String(value);
}

/** "Extra minutes: 0 min → 15 min", or "Connection: 1 h 10" for a value set the first time. */
export function changeLine(name, change, session) {
  const label = fieldName(name) === name ? t("history.field") : fieldName(name); // never a raw field name
  const isChange = change && typeof change === "object" && "after" in change;
  const after = historyValue(name, isChange ? change.after : change, session);
  if (!isChange || change.before === null || change.before === undefined) return `${label}${t("history.colon")}${after}`;
  return `${label}${t("history.colon")}${historyValue(name, change.before, session)} → ${after}`;
}

export function actorWords(entry) {
  const role = entry.role ? t(`role.${entry.role}`) : "";
  const name = entry.actor && entry.actor.name;
  if (name) return role ? `${name} (${role})` : name;
  return role || t("history.someone");
}

const ORDER = ["status", "started_at", "ended_at", "connection_seconds", "extra_minutes", "total_seconds", "billed_minutes", "cost",
  "profile_id", "profile_version", "technician", "computer_id", "group_id", "notes"];
const rank = (name) => (ORDER.includes(name) ? ORDER.indexOf(name) : ORDER.length);

/** One entry: "31/10/2026 23:30 — Alice (technician) adjusted the session", then one line per change. */
export function historyItem(entry, session) {
  const item = h("li", { class: "history-entry" });
  const head = h("p", { class: "history-head" });
  const known = ACTIONS.includes(entry.action);
  say(head, () => t("history.line", { when: when(entry.at), who: actorWords(entry), did: known ? t(`history.${entry.action}`) : t("history.changed") }));
  const names = Object.keys(entry.changes || {}).filter((name) => !(entry.action === "recorded" && ["group_id", "technician"].includes(name)))
    .sort((a, b) => rank(a) - rank(b));
  const list = h("ul", { class: "history-changes" }, names.map((name) => {
    const line = h("li");
    say(line, () => changeLine(name, entry.changes[name], session));
    return line;
  }));
  item.append(head, list);
  return item;
}
