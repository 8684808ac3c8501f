import { api } from "./api.js";
import { cell, h } from "./dom.js";
import { clearMessage, notice, showError } from "./errors.js";
import { hours, when } from "./format.js";
import { groupName } from "./sessions.js";
import { $, state } from "./state.js";
import { t } from "./words.js";

// ---------------------------------------------------------------- balance alerts (finance, admin)

export async function loadEvents() {
  clearMessage($("#events-error"));
  const events = [];
  try {
    let after = null;
    for (;;) {
      const { data } = await api("GET", "/events", { query: { after, limit: 1000 } });
      events.push(...(data.events || []));
      if (!data.next_cursor || (data.events || []).length < 1000) break;
      after = data.next_cursor;
    }
  } catch (error) {
    showError($("#events-error"), error);
    return;
  }
  state.events = events;
  renderEvents();
}

export function renderEvents() {
  const events = [...(state.events || [])].reverse(); // newest first
  $("#events tbody").replaceChildren(...events.map((event) => {
    const detail = event.detail || {};
    return h("tr", { dataset: { eventId: event.event_id } },
      cell("events.at", {}, when(event.at)),
      cell("events.client", { class: "client" }, event.group_id ? groupName(event.group_id) : "—"),
      cell("events.what", { class: "what" }, event.type === "balance.threshold_crossed" ? t("events.crossed", { threshold: detail.threshold }) : event.type),
      cell("events.left", { class: `num left${detail.available_minutes < 0 ? " negative" : ""}` },
        detail.total_minutes ? t("events.leftOf", { left: hours(detail.available_minutes), total: hours(detail.total_minutes) }) : hours(detail.available_minutes)));
  }));
  if (events.length) clearMessage($("#events-empty")); else if (state.events) notice($("#events-empty"), "events.none");
}
