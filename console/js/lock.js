import { api } from "./api.js";
import { h, show } from "./dom.js";
import { clearMessage, notice } from "./errors.js";
import { cents, centsText, hours, money } from "./format.js";
import { confirmDialog, lockOne, replaceSession, rowError } from "./sessions.js";
import { $, can, state } from "./state.js";
import { loadTotals } from "./totals.js";
import { counted, say, t } from "./words.js";

// Locking accounts a session for good, so it always takes a second step: the padlock first turns into
// "Confirm" for a few seconds (a second tap locks, anything else lets it fall back), and the sessions
// ticked in the table are locked together after one confirmation that says what they add up to.

export const ARMED_MS = 5000;
let armed = null; // {button, timer} of the padlock waiting for its second tap

export function disarm() {
  if (!armed) return;
  clearTimeout(armed.timer);
  const { button } = armed;
  armed = null;
  if (!button.isConnected) return;
  button.classList.remove("armed");
  button.querySelector(".confirm-words")?.remove();
  show($("#lock-hint"), false);
  button.setAttribute("aria-label", t("sessions.lock"));
  button.title = t("sessions.lock");
}

/** The padlock's tap: the first arms it, the second (within ARMED_MS) locks. */
export function lockTap(session, button) {
  if (armed && armed.button === button) { disarm(); lockOne(session, button); return; }
  disarm();
  button.classList.add("armed");
  const words = h("span", { class: "confirm-words" });
  say(words, () => t("lock.confirm"), false);
  button.append(words);
  button.setAttribute("aria-label", t("lock.confirmLong"));
  button.title = t("lock.confirmLong");
  armed = { button, timer: setTimeout(disarm, ARMED_MS) };
  say($("#lock-hint"), () => t("lock.hint"));
}

// ---------------------------------------------------------------- several sessions ticked

export const picked = new Set(); // session ids ticked in the table

export function pickBox(session) {
  return h("input", {
    type: "checkbox", class: "pick", checked: picked.has(session.session_id), "aria-label": t("lock.pick", { session: session.session_id }),
    onchange: (event) => { if (event.target.checked) picked.add(session.session_id); else picked.delete(session.session_id); showPicked(); },
  });
}

export function showPicked() {
  for (const id of [...picked]) {
    const session = state.sessions.find((s) => s.session_id === id);
    if (!session || session.status !== "to_account") picked.delete(id);
  }
  const button = $("#lock-selected");
  say(button, () => t("lock.selected", { count: picked.size }), picked.size > 0 && can("lock"));
}

export function forgetPicked() {
  picked.clear();
  showPicked();
}

/** One confirmation for the ticked sessions (how many, billed, cost), then one lock each, in order. */
export async function lockPicked() {
  const sessions = state.sessions.filter((s) => picked.has(s.session_id) && s.status === "to_account");
  if (!sessions.length) return;
  const result = $("#lock-all-result");
  clearMessage($("#sessions-error"), result);
  const billed = sessions.reduce((sum, s) => sum + (s.billed_minutes || 0), 0);
  const ok = await confirmDialog(() => t("lock.selectedConfirm", { ...counted(sessions.length), billed: hours(billed), cost: costOf(sessions) }), { ok: "lockall.ok" });
  if (!ok) return;
  const button = $("#lock-selected");
  button.disabled = true;
  let locked = 0;
  try {
    for (const session of sessions) {
      try {
        const { data } = await api("POST", `/sessions/${encodeURIComponent(session.session_id)}/lock`);
        picked.delete(session.session_id);
        replaceSession(data);
        locked += 1;
      } catch (error) {
        rowError(session.session_id, error);
      }
    }
  } finally {
    button.disabled = false;
  }
  notice(result, "lock.selectedDone", () => counted(locked));
  showPicked();
  loadTotals();
}

/** The cost of some sessions, summed per currency ("1 095,08 € · 80,00 $"). */
export function costOf(sessions) {
  const sums = new Map();
  for (const s of sessions) {
    if (s.cost === null || s.cost === undefined) continue;
    sums.set(s.currency, (sums.get(s.currency) || 0n) + cents(s.cost));
  }
  return sums.size ? [...sums].map(([currency, total]) => money(centsText(total), currency)).join(" · ") : "—";
}
