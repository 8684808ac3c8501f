import { number } from "./format.js";

// The web console: one page, no build step, no dependency. It speaks to the API on its own origin
// (/v1, bearer token) and shows each role only what that role may do.

export const API = "/v1";
// Rows per page: 50, or ?page_size=N (1–1000) in the console's address.
export const PAGE_SIZE = (() => {
  const asked = Number.parseInt(new URLSearchParams(location.search).get("page_size"), 10);
  return asked >= 1 && asked <= 1000 ? asked : 50;
})();
export const TOKEN_KEY = "rsa.console.token";
export const LANG_KEY = "rsa.console.lang";
export const JOB_POLL_MS = 700;

export const CAN = {
  edit: ["admin", "technician"],
  lock: ["admin", "technician", "finance"],
  lockAll: ["admin", "finance"],
  export: ["admin", "finance"],
  month: ["admin", "finance"],
  quote: ["admin", "technician", "finance"],
  simulate: ["admin", "finance"],
  events: ["admin", "finance"],
  recharge: ["admin"],
  invoices: ["admin", "finance"],
  void: ["admin"],
  reopen: ["admin"],
  admin: ["admin"],
};

export const state = {
  lang: "en",
  zone: null, // the tenant's IANA time zone, when /v1/me gives it
  token: null,
  me: null,
  role: null,
  view: "sessions",
  groups: [],
  profiles: [],
  sessions: [],
  cursor: null,
  query: null, // the search the table shows: {group, from, to, fromDay, toDay, status}
  sort: { key: "started_at", dir: 1 },
  totals: null,
  month: null, // "2026-10"
  monthRows: [],
  client: null, // the client open in the clients view
  computers: [],
  contracts: [],
  tokens: [],
  invoices: { month: null, list: null, period: null, run: null, open: null }, // the invoices screen's month
};

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];
export const can = (what) => CAN[what].includes(state.role);

// A request token per screen: each load takes a new one, and an answer is used only while its token is
// still the screen's latest, so a slow answer about one client never lands under another's name.
const tickets = new Map();
export function ticket(screen) {
  const number = (tickets.get(screen) || 0) + 1;
  tickets.set(screen, number);
  return () => tickets.get(screen) === number;
}
