import { api } from "./api.js";
import { h, show } from "./dom.js";
import { clearMessage, showError } from "./errors.js";
import { cents, centsText, dayText, hours, localMidnight, money, monthDays, readDay } from "./format.js";
import { defaultMonth } from "./month.js";
import { groupName, periodText } from "./sessions.js";
import { $, state } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- simulate (finance, admin)

export async function loadSimulationChoices() {
  try {
    const [{ data: profiles }, { data: groups }] = await Promise.all([api("GET", "/profiles"), api("GET", "/groups")]);
    state.profiles = profiles.profiles || [];
    state.groups = groups.groups || [];
  } catch (error) {
    showError($("#simulate-error"), error);
    return;
  }
  const fill = (select, items, value, text) => {
    const previous = select.value;
    select.replaceChildren(...items.map((item) => h("option", { value: value(item) }, text(item))));
    if (items.some((item) => value(item) === previous)) select.value = previous;
  };
  fill($("#simulate-group"), state.groups, (g) => g.group_id, (g) => g.name);
  fill($("#simulate-profile"), state.profiles, (p) => p.profile_id, (p) => `${p.name} (${t(`type.${p.type}`)})`);
  if (!$("#simulate-from").value && !$("#simulate-to").value) {
    const { fromDay, toDay } = monthDays(state.month || defaultMonth());
    $("#simulate-from").value = dayText(fromDay);
    $("#simulate-to").value = dayText(toDay);
  }
}

/** From a row of the month: that client and that month, ready to pick a profile. */
export function simulateFor(groupId) {
  const { fromDay, toDay } = monthDays(state.month || defaultMonth());
  $("#simulate-group").value = groupId;
  $("#simulate-from").value = dayText(fromDay);
  $("#simulate-to").value = dayText(toDay);
  $("#simulate").scrollIntoView({ block: "nearest" });
  $("#simulate-profile").focus();
}

export async function runSimulation(event) {
  event.preventDefault();
  const errorBox = $("#simulate-error");
  clearMessage(errorBox);
  const fromDay = readDay($("#simulate-from").value);
  const toDay = readDay($("#simulate-to").value);
  if (fromDay === null || toDay === null) {
    say(errorBox, () => t("filter.badDate", { field: t(fromDay === null ? "filter.from" : "filter.to"), example: t("date.placeholder") }));
    return;
  }
  const body = { profile_id: $("#simulate-profile").value };
  if (fromDay) body.from = localMidnight(fromDay);
  if (toDay) body.to = localMidnight(toDay, 1);
  const groupId = $("#simulate-group").value;
  try {
    const { data } = await api("POST", `/groups/${encodeURIComponent(groupId)}/simulate`, { body });
    state.simulation = { groupId, period: { fromDay, toDay }, data };
  } catch (error) {
    state.simulation = null;
    showError(errorBox, error);
  }
  renderSimulation();
}

/** Accounted plus to-account: the period's figures, money per currency as the API gives it. */
export function periodFigures(totals) {
  const lines = [totals.accounted, totals.to_account];
  const costs = new Map();
  for (const line of lines) for (const c of line.costs || []) costs.set(c.currency, (costs.get(c.currency) || 0n) + cents(c.amount));
  return {
    sessions: lines.reduce((n, l) => n + l.sessions, 0),
    billed: lines.reduce((n, l) => n + (l.billed_minutes || 0), 0),
    cost: costs.size ? [...costs].map(([c, amount]) => money(centsText(amount), c)).join(" + ") : money("0.00", totals.contract && totals.contract.currency),
  };
}

export function renderSimulation() {
  const simulation = state.simulation;
  show($("#simulate-result"), Boolean(simulation));
  if (!simulation) return;
  const { current, simulated } = simulation.data;
  const side = (totals) => (totals.contract ? `${totals.contract.profile_name || totals.contract.profile_id} v${totals.contract.profile_version}` : t("contracts.none"));
  $("#simulate-heading").textContent = t("simulate.heading", { client: groupName(simulation.groupId), period: periodText(simulation.period) });
  $("#simulate-current-head").textContent = t("simulate.current", { profile: side(current) });
  $("#simulate-simulated-head").textContent = t("simulate.simulated", { profile: side(simulated) });
  const a = periodFigures(current), b = periodFigures(simulated);
  const rows = [
    ["sessions", "totals.sessions", a.sessions, b.sessions],
    ["billed", "totals.billed", hours(a.billed), hours(b.billed)],
    ["cost", "totals.cost", a.cost, b.cost],
  ];
  if (current.balance || simulated.balance) {
    const of = (balance, name) => (balance ? hours(balance[name]) : "—");
    rows.push(["available", "balance.available", of(current.balance, "available_minutes"), of(simulated.balance, "available_minutes")]);
    rows.push(["overage", "balance.overage", of(current.balance, "overage_minutes"), of(simulated.balance, "overage_minutes")]);
  }
  $("#simulate tbody").replaceChildren(...rows.map(([name, key, now, then]) => h("tr", { dataset: { figure: name } },
    h("th", {}, t(key)), h("td", { class: "num current" }, String(now)), h("td", { class: "num simulated" }, String(then)))));
}
