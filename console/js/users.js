import { api, loadList } from "./api.js";
import { cell, h } from "./dom.js";
import { clearMessage, notice, showError } from "./errors.js";
import { $, state } from "./state.js";
import { t } from "./words.js";

// ---------------------------------------------------------------- staff (admins): people of the tenant

const STAFF_ROLES = ["technician", "finance", "admin"];

export async function loadUsers() {
  await loadList("users", "/users", $("#users-error"), renderUsers);
}

function stateWords(user, me) {
  if (!user.enabled) return t("users.disabled");
  if (user.user_id === me) return t("users.you");
  return user.status === "FORCE_CHANGE_PASSWORD" ? t("users.invited") : t("users.active");
}

export function renderUsers() {
  const me = state.me && state.me.actor && state.me.actor.kind === "user" ? state.me.actor.id : null;
  $("#users tbody").replaceChildren(...(state.users || []).map((user) => {
    const role = h("select", { class: "user-role", "aria-label": t("users.role") },
      ...STAFF_ROLES.map((name) => h("option", { value: name, selected: name === user.role }, t(`role.${name}`))));
    role.addEventListener("change", () => changeUser(user, { role: role.value }));
    return h("tr", { dataset: { userId: user.user_id }, class: user.enabled ? "" : "revoked" },
      cell("users.name", { class: "label" }, user.name || user.email),
      cell("users.email", {}, user.email),
      cell("users.role", {}, role),
      cell("users.state", { class: "user-state" }, stateWords(user, me)),
      cell("col.actions", {}, h("button", { type: "button", class: user.enabled ? "danger disable" : "enable",
        onclick: () => changeUser(user, { enabled: !user.enabled }) }, t(user.enabled ? "users.disable" : "users.enable"))));
  }));
}

export async function inviteUser(event) {
  event.preventDefault();
  clearMessage($("#user-error"), $("#users-result"));
  const body = { email: $("#user-email").value.trim(), role: $("#user-role").value };
  if ($("#user-name").value.trim()) body.name = $("#user-name").value.trim();
  try {
    const { data } = await api("POST", "/users", { body });
    notice($("#users-result"), "users.invitedDone", { email: data.email });
    $("#user-email").value = "";
    $("#user-name").value = "";
    await loadUsers();
  } catch (error) {
    showError($("#user-error"), error);
    $("#user-email").focus();
  }
}

async function changeUser(user, change) {
  clearMessage($("#users-error"), $("#users-result"));
  try {
    await api("PATCH", `/users/${encodeURIComponent(user.user_id)}`, { body: change });
    notice($("#users-result"), "users.changed", { name: user.name || user.email });
  } catch (error) {
    showError($("#users-error"), error);
  }
  await loadUsers();
}
