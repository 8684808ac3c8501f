import { openDrawer } from "./drawer.js";
import { disarm } from "./lock.js";
import { $, $$, state } from "./state.js";

// The keyboard: "/" searches, "j"/"k" move through the sessions, "l" locks the current one (asking
// first, like a tap: "l" again confirms), Enter opens it, Esc closes what is open.

const typing = (element) => element && (element.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(element.tagName));

function rows() {
  return $$("#sessions tbody tr[data-session-id]");
}

/** Moves the current row by `by` (1 down, -1 up) and gives it the focus. */
export function moveRow(by) {
  const all = rows();
  if (!all.length) return;
  const index = all.findIndex((row) => row.classList.contains("current"));
  const next = all[Math.min(all.length - 1, Math.max(0, index < 0 ? 0 : index + by))];
  for (const row of all) row.classList.toggle("current", row === next);
  next.tabIndex = -1;
  next.focus({ preventScroll: false });
  next.scrollIntoView({ block: "nearest" });
}

function currentSession() {
  const row = rows().find((r) => r.classList.contains("current"));
  return row ? state.sessions.find((s) => s.session_id === row.dataset.sessionId) : null;
}

export function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey || !state.role) return;
  if (event.key === "Escape") {
    disarm();
    if (typing(event.target) && event.target.id === "text") event.target.blur();
    return; // open dialogs close themselves on Esc
  }
  if (typing(event.target) || document.querySelector("dialog[open]") || state.view !== "sessions") return;
  if (event.key === "/") { event.preventDefault(); $("#text").focus(); return; }
  if (event.key === "j" || event.key === "k") { event.preventDefault(); moveRow(event.key === "j" ? 1 : -1); return; }
  const session = currentSession();
  if (!session) return;
  const row = rows().find((r) => r.dataset.sessionId === session.session_id);
  if (event.key === "l") {
    const button = row.querySelector("button.lock");
    if (button && !button.disabled) { event.preventDefault(); button.click(); }
  } else if (event.key === "Enter" && event.target === row) {
    event.preventDefault();
    openDrawer(session);
  }
}
