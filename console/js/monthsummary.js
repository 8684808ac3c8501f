import { api } from "./api.js";
import { cell, h } from "./dom.js";
import { showError } from "./errors.js";
import { cents, centsText, hours, money, number } from "./format.js";
import { monthPeriod } from "./month.js";
import { $, state } from "./state.js";
import { counted, say, t } from "./words.js";

// The month at a glance: grand totals per currency, a chart of hours and amounts per client
// (accounted beside to account, inline SVG) and, on demand, the month per technician.

const SVG = "http://www.w3.org/2000/svg";
const CHART_CLIENTS = 12; // the clients with the most hours; the rest summed as "others"

/** A figure's money as [currency, cents] pairs (its `costs`, else its `cost` in the contract's currency). */
export function moneyPairs(figure, currency) {
  if (!figure) return [];
  if (Array.isArray(figure.costs) && figure.costs.length) return figure.costs.map((c) => [c.currency, cents(c.amount)]);
  return figure.cost === null || figure.cost === undefined || !currency ? [] : [[currency, cents(figure.cost)]];
}

function addPairs(sums, pairs) {
  for (const [currency, value] of pairs) sums.set(currency, (sums.get(currency) || 0n) + value);
}

const moneyText = (sums) => (sums.size ? [...sums].sort().map(([currency, value]) => money(centsText(value), currency)).join(" · ") : "—");

/** Sessions, billed hours and money per currency, to account and accounted, over every client. */
export function grandTotals(rows) {
  const total = { to_account: { sessions: 0, minutes: 0, money: new Map() }, accounted: { sessions: 0, minutes: 0, money: new Map() } };
  for (const row of rows) {
    const currency = row.contract ? row.contract.currency : null;
    for (const line of ["to_account", "accounted"]) {
      const figure = row[line];
      if (!figure) continue;
      total[line].sessions += figure.sessions || 0;
      total[line].minutes += figure.billed_minutes || 0;
      addPairs(total[line].money, moneyPairs(figure, currency));
    }
  }
  return total;
}

export function renderSummary(rows) {
  const box = $("#month-summary");
  if (!rows.length) { box.replaceChildren(); return; }
  const total = grandTotals(rows);
  const line = (key, figure) => h("div", { class: `grand ${key}` },
    h("span", { class: "grand-label" }, t(`month.grand.${key}`)),
    h("strong", { class: "grand-figures" }, t("month.grand.figures", { ...counted(figure.sessions), billed: hours(figure.minutes), money: moneyText(figure.money) })));
  box.replaceChildren(
    h("div", { class: "grand-totals", role: "group", "aria-label": t("month.grand.title") }, line("to_account", total.to_account), line("accounted", total.accounted)),
    chart(rows),
    h("div", { class: "technicians" },
      h("button", { type: "button", id: "month-technicians", class: "link", onclick: () => loadTechnicians() }, t("month.tech.button")),
      h("div", { id: "month-tech-table" })));
}

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
  for (const child of children) element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return element;
}

/** Horizontal bars, one per client: billed hours accounted (green) then to account (amber), and the money beside them. */
export function chart(rows) {
  const bars = rows.map((row) => ({
    name: row.name || row.group_id,
    accounted: row.accounted ? row.accounted.billed_minutes || 0 : 0,
    pending: row.to_account ? row.to_account.billed_minutes || 0 : 0,
    money: (() => { const sums = new Map(); const currency = row.contract ? row.contract.currency : null;
      addPairs(sums, moneyPairs(row.accounted, currency)); addPairs(sums, moneyPairs(row.to_account, currency)); return sums; })(),
  })).filter((bar) => bar.accounted + bar.pending > 0).sort((a, b) => b.accounted + b.pending - (a.accounted + a.pending));
  if (!bars.length) return h("p", { class: "muted" }, t("month.chart.empty"));
  const shown = bars.slice(0, CHART_CLIENTS);
  if (bars.length > CHART_CLIENTS) {
    const rest = bars.slice(CHART_CLIENTS);
    const sums = new Map();
    for (const bar of rest) addPairs(sums, bar.money);
    shown.push({ name: t("month.chart.others", { count: rest.length }), accounted: rest.reduce((s, b) => s + b.accounted, 0), pending: rest.reduce((s, b) => s + b.pending, 0), money: sums });
  }
  // Scaled on the busiest client: the "others" line (a sum) is drawn full width at most, its figures say the rest.
  const most = Math.max(...shown.slice(0, CHART_CLIENTS).map((bar) => bar.accounted + bar.pending));
  const words = (bar) => t("month.chart.bar", { accounted: hours(bar.accounted), pending: hours(bar.pending), money: moneyText(bar.money) });
  // One row per client: its name and figures as HTML (they wrap like the page), its bar as inline SVG
  // that stretches to the card's width (a 100-wide box, not pixels).
  const bar = (item) => {
    const done = Math.min(100, (item.accounted / most) * 100);
    const left = Math.min(100 - done, (item.pending / most) * 100);
    return svg("svg", { class: "chart-bar", viewBox: "0 0 100 4", preserveAspectRatio: "none", "aria-hidden": "true", focusable: "false" },
      svg("rect", { x: 0, y: 0, width: 100, height: 4, class: "track" }),
      svg("rect", { x: 0, y: 0, width: done.toFixed(2), height: 4, class: "accounted" }),
      svg("rect", { x: done.toFixed(2), y: 0, width: left.toFixed(2), height: 4, class: "to-account" }));
  };
  const legend = h("p", { class: "chart-legend small" },
    h("span", { class: "key accounted" }), " ", t("month.col.accounted"), " ", h("span", { class: "key to-account" }), " ", t("month.col.toAccount"));
  return h("figure", { class: "chart-box" }, h("figcaption", {}, t("month.chart.title")), legend,
    h("ol", { class: "chart" }, shown.map((item) => h("li", {},
      h("span", { class: "chart-name" }, item.name), bar(item), h("span", { class: "chart-figures" }, words(item))))));
}

// ---------------------------------------------------------------- per technician (the sessions of every client)

let techSeq = 0;

/** Reads the month's sessions of every client (4 at a time) and sums them per technician. */
export async function loadTechnicians() {
  const seq = ++techSeq;
  const box = $("#month-tech-table");
  const period = monthPeriod(state.month);
  const groups = state.monthRows.filter((row) => (row.to_account?.sessions || 0) + (row.accounted?.sessions || 0) > 0);
  const people = new Map();
  let done = 0;
  say(box, () => t("month.tech.loading", { done, count: groups.length }));
  const queue = [...groups];
  const worker = async () => {
    for (let row = queue.shift(); row; row = queue.shift()) {
      let cursor = null;
      do {
        const { data } = await api("GET", `/groups/${encodeURIComponent(row.group_id)}/sessions`, { query: { from: period.from, to: period.to, limit: 1000, cursor } });
        for (const s of data.sessions || []) {
          const person = people.get(s.technician) || { sessions: 0, minutes: 0, money: new Map(), clients: new Set() };
          person.sessions += 1;
          person.minutes += s.billed_minutes || 0;
          person.clients.add(row.group_id);
          if (s.cost !== null && s.cost !== undefined) addPairs(person.money, [[s.currency, cents(s.cost)]]);
          people.set(s.technician, person);
        }
        cursor = data.next_cursor || null;
      } while (cursor);
      done += 1;
      if (seq === techSeq) box.textContent = t("month.tech.loading", { done, count: groups.length });
    }
  };
  try {
    await Promise.all([worker(), worker(), worker(), worker()]);
  } catch (error) {
    if (seq === techSeq) showError(box, error);
    return;
  }
  if (seq !== techSeq) return;
  const sorted = [...people].sort((a, b) => b[1].minutes - a[1].minutes);
  box._words = null;
  box.replaceChildren(h("table", { class: "cards tech" },
    h("thead", {}, h("tr", {}, ["month.tech.who", "month.tech.sessions", "col.billed", "col.cost"].map((key) => h("th", {}, t(key))))),
    h("tbody", {}, sorted.map(([name, person]) => h("tr", {},
      cell("month.tech.who", { class: "tech-name" }, name, " ", h("small", { class: "id" }, t("month.tech.clients", { count: person.clients.size }))),
      cell("month.tech.sessions", { class: "num" }, number(person.sessions)),
      cell("col.billed", { class: "num" }, hours(person.minutes)),
      cell("col.cost", { class: "num" }, moneyText(person.money)))))));
}
