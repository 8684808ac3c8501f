import { api } from "./api.js";
import { cell, h, show } from "./dom.js";
import { clearMessage, notice, showError } from "./errors.js";
import { cents, centsText, day, dayText, hours, money, pad, readDay, when } from "./format.js";
import { confirmDialog, readInteger } from "./sessions.js";
import { $, $$, state } from "./state.js";
import { counted, say, spoken, t } from "./words.js";

// ---------------------------------------------------------------- profiles (admins)

export const PROFILE_TYPES = {
  pay_per_use: ["currency", "min_duration_minutes", "initial_step_minutes", "initial_step_cost", "step_minutes", "step_cost"],
  subscription: ["currency", "min_duration_minutes", "total_hours", "amount", "step_minutes", "overage_step_cost"],
};
export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun", "holiday"];
export const MINUTE_FIELDS = new Set(["min_duration_minutes", "initial_step_minutes", "step_minutes"]);

export function terms(profile) {
  const values = { ...profile };
  for (const name of ["initial_step_cost", "step_cost", "amount"]) if (name in values) values[name] = money(values[name], profile.currency);
  if ("total_hours" in values) values.total_hours = hours(Math.round(Number(values.total_hours) * 60));
  const words = [t(profile.type === "subscription" ? "profiles.terms.sub" : "profiles.terms.ppu", values)];
  const rules = profile.surcharges || [];
  if (rules.length) words.push(t("profiles.terms.rules", { rules: rules.map((r) => `${r.name} ×${money(r.multiplier)}`).join(", "), zone: profile.time_zone || "UTC" }));
  if (profile.overage_step_cost) words.push(t("profiles.terms.overage", { cost: money(profile.overage_step_cost, profile.currency) }));
  if ((profile.alert_thresholds || []).length) words.push(t("profiles.terms.alerts", { thresholds: profile.alert_thresholds.map((n) => `${n} %`).join(", ") }));
  return words.join("; ");
}

// ---------------------------------------------------------------- surcharge rules (rows of the profile form)

/** A label whose words follow the page's language (applyLanguage rewrites data-i18n). */
export const i18nSpan = (key) => h("span", { dataset: { i18n: key } }, t(key));

/** "18h30", "18.30", "9:05", "18" → "18:30", "18:30", "09:05", "18:00"; anything else as typed (the API names it). */
export function clockText(text) {
  const value = String(text || "").trim();
  const match = /^(\d{1,2})(?:\s*[h:.]\s*(\d{2})?)?$/i.exec(value);
  return match ? `${pad(Number(match[1]))}:${match[2] || "00"}` : value;
}

export function ruleRow(rule = {}) {
  const days = h("fieldset", { class: "days" }, h("legend", {}, i18nSpan("rules.days")),
    ...DAYS.map((day) => h("label", { class: "check" },
      h("input", { type: "checkbox", value: day, checked: (rule.days || []).includes(day) }), " ", i18nSpan(`day.${day}`))));
  const row = h("div", { class: "rule" },
    h("label", { class: "rule-name" }, i18nSpan("rules.name"), h("input", { dataset: { part: "name" }, maxlength: "200", value: rule.name || "" })),
    days,
    h("label", { class: "clock" }, i18nSpan("rules.from"), h("input", { dataset: { part: "from" }, size: "5", placeholder: "18:00", value: rule.from || "" })),
    h("label", { class: "clock" }, i18nSpan("rules.to"), h("input", { dataset: { part: "to" }, size: "5", placeholder: "24:00", value: rule.to || "" })),
    h("label", { class: "clock" }, i18nSpan("rules.multiplier"), h("input", { dataset: { part: "multiplier" }, size: "5", inputmode: "decimal", placeholder: "1.50",
      value: rule.multiplier ? money(rule.multiplier) : "" })),
    h("button", { type: "button", class: "link remove-rule", onclick: () => { row.remove(); numberRules(); } }, i18nSpan("rules.remove")));
  return row;
}

/** Each row's inputs are named as the API names them (surcharges[2].from), so its errors land on them. */
export function numberRules() {
  $$("#surcharge-rules .rule").forEach((row, index) => {
    for (const input of $$("[data-part]", row)) input.name = `surcharges[${index}].${input.dataset.part}`;
    $("fieldset.days", row).name = `surcharges[${index}].days`;
  });
}

export function readRules() {
  return $$("#surcharge-rules .rule").map((row) => ({
    name: $("[data-part=name]", row).value.trim(),
    days: $$("input[type=checkbox]:checked", row).map((box) => box.value),
    from: clockText($("[data-part=from]", row).value),
    to: clockText($("[data-part=to]", row).value),
    multiplier: $("[data-part=multiplier]", row).value.trim().replace(",", "."),
  }));
}

export async function loadProfiles() {
  clearMessage($("#profiles-error"));
  try {
    const [{ data: profiles }, { data: groups }] = await Promise.all([api("GET", "/profiles"), api("GET", "/groups")]);
    state.profiles = profiles.profiles || [];
    state.groups = groups.groups || [];
  } catch (error) {
    showError($("#profiles-error"), error);
    return;
  }
  renderProfiles();
}

export function renderProfiles() {
  $("#profiles tbody").replaceChildren(...state.profiles.map((profile) => h("tr", { dataset: { profileId: profile.profile_id } },
    cell("profiles.col.id", {}, h("code", {}, profile.profile_id)),
    cell("profiles.col.name", {}, profile.name),
    cell("profiles.col.type", {}, t(`type.${profile.type}`)),
    cell("profiles.col.version", { class: "num" }, profile.version),
    cell("profiles.col.terms", { class: "terms" }, terms(profile)),
    cell("col.actions", { class: "row-actions" },
      h("button", { type: "button", class: "link edit", onclick: () => openProfileForm(profile) }, t("profiles.edit")),
      h("button", { type: "button", class: "link history", onclick: () => showHistory(profile) }, t("profiles.history"))),
  )));
  show($("#profiles-empty"), state.profiles.length === 0);
}

export let editing = null; // the profile being edited, or null when creating one

export function closeProfileForm() {
  show($("#profile-form"), false);
  editing = null;
}

export function openProfileForm(profile = null) {
  editing = profile;
  const form = $("#profile-form");
  form.reset();
  clearFieldErrors(form);
  clearMessage($("#profile-form-error"), $("#profiles-result"));
  form.dataset.mode = profile ? "edit" : "create";
  say($("#profile-form-title"), () => (profile ? t("profiles.form.edit", { id: profile.profile_id, version: profile.version + 1 }) : t("profiles.form.create")), false);
  if (profile) {
    for (const name of ["name", "type", "time_zone", ...PROFILE_TYPES[profile.type]]) {
      const input = form.elements.namedItem(name);
      if (input && profile[name] !== undefined && profile[name] !== null) input.value = String(profile[name]);
    }
    const holidays = profile.holidays || {};
    form.elements.namedItem("holidays.country").value = holidays.country || "";
    form.elements.namedItem("holidays.subdivision").value = holidays.subdivision || "";
    form.elements.namedItem("holidays.dates").value = (holidays.dates || []).map(dayText).join(", ");
    form.elements.namedItem("alert_thresholds").value = (profile.alert_thresholds || []).join(", ");
  }
  $("#surcharge-rules").replaceChildren(...((profile && profile.surcharges) || []).map((rule) => ruleRow(rule)));
  numberRules();
  showTypeFields();
  show(form);
  form.elements.namedItem("name").focus();
}

export function showTypeFields() {
  const form = $("#profile-form");
  const type = form.elements.namedItem("type").value;
  for (const label of $$("[data-for-type]", form)) show(label, label.dataset.forType === type);
  for (const label of $$("[data-for-mode]", form)) show(label, label.dataset.forMode === form.dataset.mode);
}

export function clearFieldErrors(form) {
  for (const small of $$(".field-error", form)) { spoken.delete(small); small.remove(); }
  for (const input of $$(".invalid, .invalid-set", form)) input.classList.remove("invalid", "invalid-set");
}

/** What a new version re-prices: the to-account sessions of every client on the profile (all dates). */
export async function openSessionsOn(profileId) {
  const groups = state.groups.filter((g) => g.profile_id === profileId);
  const answers = await Promise.all(groups.map((g) => api("GET", `/groups/${encodeURIComponent(g.group_id)}/totals`)));
  let sessions = 0, minutes = 0, money_ = 0n, currency = null;
  for (const { data } of answers) {
    sessions += data.to_account.sessions;
    minutes += data.to_account.billed_minutes || 0;
    if (data.to_account.cost !== null && data.to_account.cost !== undefined) money_ += cents(data.to_account.cost);
    currency = currency || (data.contract && data.contract.currency);
  }
  return { clients: groups.length, sessions, minutes, cost: centsText(money_), currency };
}

/** The profile the form describes, as POST/PUT /v1/profiles take it (what is typed wrong is sent as
typed, so the API names the field). */
export function profileBody(form) {
  const type = form.elements.namedItem("type").value;
  const value = (name) => form.elements.namedItem(name).value.trim();
  const body = { name: value("name"), type };
  for (const name of PROFILE_TYPES[type]) {
    const text = value(name);
    if (text === "") continue; // the API says which field is required
    body[name] = MINUTE_FIELDS.has(name) ? readInteger(text) : name === "currency" ? text.toUpperCase() : text.replace(",", ".");
  }
  if (value("time_zone")) body.time_zone = value("time_zone");
  const dates = value("holidays.dates").split(/[\s,;]+/).filter(Boolean).map((text) => readDay(text) || text);
  if (value("holidays.country") || value("holidays.subdivision") || dates.length) {
    body.holidays = { country: value("holidays.country").toUpperCase() || null, subdivision: value("holidays.subdivision") || null, dates };
  }
  const rules = readRules();
  if (rules.length || editing) body.surcharges = rules;
  if (type === "subscription" && value("alert_thresholds")) {
    body.alert_thresholds = value("alert_thresholds").split(/[\s,;%]+/).filter(Boolean).map(readInteger);
  }
  const id = value("profile_id");
  if (!editing && id) body.profile_id = id;
  return body;
}

/** An API error shown under the input it names ("surcharges[2].from" → the third rule's "from"), in
the page's language; false when no visible input of the form has that name. */
export function fieldError(form, error) {
  let name = error.field;
  let target = null;
  while (name && !target) {
    const found = form.elements.namedItem(name);
    if (found && !(found instanceof RadioNodeList)) target = found;
    else if (/\[\d+\]$/.test(name)) name = name.replace(/\[\d+\]$/, ""); // alert_thresholds[1] → alert_thresholds
    else if (name === "holidays") name = "holidays.country";
    else if (name.startsWith("profile.")) name = name.slice("profile.".length); // a quoted inline profile
    else name = null;
  }
  const place = target && target.closest("fieldset.days, label");
  if (!place || place.closest("[hidden]")) return false;
  if (target.tagName !== "FIELDSET") target.classList.add("invalid");
  else target.classList.add("invalid-set");
  const small = h("small", { class: "field-error", role: "alert" });
  place.append(small);
  showError(small, error);
  (target.tagName === "FIELDSET" ? $("input", target) : target).focus();
  return true;
}

export async function saveProfile(event) {
  event.preventDefault();
  const form = $("#profile-form");
  const errorBox = $("#profile-form-error");
  clearFieldErrors(form);
  clearMessage(errorBox);
  const body = profileBody(form);
  try {
    if (editing) {
      // A new version re-prices every open session of the clients on it: say how many and how much first.
      const profile = editing;
      const open = await openSessionsOn(profile.profile_id);
      if (open.sessions > 0) {
        const words = () => t(profile.type === "subscription" ? "profiles.reprice.sub" : "profiles.reprice", {
          ...counted(open.sessions), clients: open.clients, version: profile.version + 1, billed: hours(open.minutes), cost: money(open.cost, open.currency) });
        if (!(await confirmDialog(words, { ok: "profiles.reprice.ok" }))) return;
      }
    }
    const { data } = editing
      ? await api("PUT", `/profiles/${encodeURIComponent(editing.profile_id)}`, { body })
      : await api("POST", "/profiles", { body });
    show(form, false);
    editing = null;
    await loadProfiles();
    notice($("#profiles-result"), "profiles.saved", { id: data.profile_id, version: data.version });
  } catch (error) {
    if (!(error.field && fieldError(form, error))) showError(errorBox, error);
  }
}

export async function showHistory(profile) {
  const card = $("#history");
  const errorBox = $("#history-error");
  clearMessage(errorBox);
  say($("#history-title"), () => t("profiles.historyTitle", { id: profile.profile_id }), false);
  const body = $("#history tbody");
  body.replaceChildren();
  show(card);
  let versions;
  try {
    versions = (await api("GET", `/profiles/${encodeURIComponent(profile.profile_id)}/versions`)).data.versions;
  } catch (error) { showError(errorBox, error); return; }
  versions = [...versions].sort((a, b) => b.version - a.version);
  body.replaceChildren(...versions.map((v) => h("tr", { dataset: { version: v.version } },
    cell("profiles.col.version", { class: "num" }, v.version), cell("profiles.col.name", {}, v.name), cell("profiles.col.type", {}, t(`type.${v.type}`)),
    cell("profiles.col.terms", { class: "terms" }, terms(v)), cell("profiles.col.created", {}, when(v.created_at)))));
  card.scrollIntoView({ block: "nearest" });
}
