import { api } from "./api.js";
import { show } from "./dom.js";
import { clearMessage, notice, showError } from "./errors.js";
import { duration, hours, localMidnight, money, moneyOf, readDay } from "./format.js";
import { $, $$, state, ticket } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- totals, balance, recharge

export async function loadTotals() {
  const query = state.query;
  if (!query) return;
  const current = ticket("totals");
  clearMessage($("#totals-error"));
  try {
    const { data } = await api("GET", `/groups/${encodeURIComponent(query.group)}/totals`, { query: { from: query.from, to: query.to } });
    if (!current() || state.query !== query) return;
    state.totals = data;
  } catch (error) {
    if (!current() || state.query !== query) return;
    state.totals = null;
    showError($("#totals-error"), error);
  }
  renderTotals();
}

export function contractWords(contract) {
  if (!contract) return t("totals.noContract");
  const name = contract.profile_name || (contract.profile && (contract.profile.name || contract.profile.profile_id)) || contract.profile || contract.profile_id || "";
  return t("totals.contractLine", { name, version: contract.profile_version ?? "—", type: t(`type.${contract.type}`), currency: contract.currency });
}

export function renderTotals() {
  const totals = state.totals;
  const contract = totals && totals.contract;
  const currency = contract ? contract.currency : null;
  // Until the client's own figures arrive, the card says so: never the previous client's contract.
  $("#totals-contract").textContent = totals ? contractWords(contract) : state.query ? t("sessions.loading") : "";
  for (const element of $$("[data-total]")) {
    const [line, figure] = element.dataset.total.split(".");
    const value = totals ? totals[line][figure] : null;
    element.textContent = value === null || value === undefined ? "" :
      figure === "total_seconds" ? duration(value) :
      figure === "billed_minutes" ? hours(value) :
      figure === "cost" ? (contract && contract.type === "subscription" ? "—" : moneyOf(totals[line], currency)) : String(value);
  }
  const balance = totals && totals.balance;
  show($("#balance"), Boolean(balance));
  if (!balance) return;
  for (const element of $$("[data-balance]")) {
    const name = element.dataset.balance;
    const value = balance[name];
    element.textContent = name === "amount" ? money(value, currency) : hours(value);
    element.title = name === "amount" || typeof value !== "number" ? "" : `${value} min`;
    element.classList.toggle("negative", name === "available_minutes" && value < 0);
  }
  $("#balance-words").textContent = balance.available_minutes < 0
    ? t("balance.overrun", { hours: hours(-balance.available_minutes) }) : t("balance.left", { hours: hours(balance.available_minutes) });
}

/** A "usable until (included)" day typed in the page's format → the next local midnight, when the
block stops covering sessions; "" when empty; null (after saying why) when it is not a date. */
export function untilOf(input, errorBox, labelKey) {
  const typed = readDay(input.value);
  if (typed === null) {
    say(errorBox, () => t("filter.badDate", { field: t(labelKey), example: t("date.placeholder") }));
    input.focus();
    return null;
  }
  return typed ? localMidnight(typed, 1) : "";
}

export async function recharge(event) {
  event.preventDefault();
  const errorBox = $("#recharge-error");
  const result = $("#recharge-result");
  clearMessage(errorBox, result);
  const query = state.query;
  if (!query) return;
  const hoursText = $("#recharge-hours").value.trim().replace(",", ".");
  const amount = $("#recharge-amount").value.trim().replace(",", ".");
  const body = { hours: hoursText, amount };
  const until = untilOf($("#recharge-expires"), errorBox, "recharge.expires");
  if (until === null) return;
  if (until) body.expires_at = until;
  try {
    const { data } = await api("POST", `/groups/${encodeURIComponent(query.group)}/recharges`, { body });
    const currency = state.totals?.contract?.currency;
    notice(result, "recharge.done", () => ({ hours: hours(Math.round(Number(data.hours) * 60)), amount: money(data.amount, currency) }));
    $("#recharge-hours").value = "";
    $("#recharge-amount").value = "";
    $("#recharge-expires").value = "";
    await loadTotals();
  } catch (error) {
    showError(errorBox, error);
    const input = { hours: $("#recharge-hours"), amount: $("#recharge-amount"), expires_at: $("#recharge-expires") }[error.field] || null;
    if (input) input.focus();
  }
}
