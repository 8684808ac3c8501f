import { api, loadList } from "./api.js";
import { cell, h, show } from "./dom.js";
import { clearMessage, notice, showError } from "./errors.js";
import { when } from "./format.js";
import { confirmDialog } from "./sessions.js";
import { $, state } from "./state.js";
import { say, t } from "./words.js";

// ---------------------------------------------------------------- tokens (admins)

export async function loadTokens() {
  await loadList("tokens", "/tokens", $("#tokens-error"), renderTokens);
}

export function renderTokens() {
  const sorted = [...state.tokens].sort((a, b) => (a.revoked_at ? 1 : 0) - (b.revoked_at ? 1 : 0) || (a.created_at < b.created_at ? 1 : -1));
  $("#tokens tbody").replaceChildren(...sorted.map((token) => {
    const mine = state.me && token.token_id === state.me.token_id;
    return h("tr", { dataset: { tokenId: token.token_id }, class: token.revoked_at ? "revoked" : "" },
      cell("tokens.label", { class: "label" }, token.label || t("tokens.noLabel")),
      cell("tokens.role", {}, t(`role.${token.role}`)),
      cell("tokens.created", {}, when(token.created_at)),
      cell("tokens.state", { class: "token-state" }, token.revoked_at ? t("tokens.revoked", { when: when(token.revoked_at) }) : mine ? t("tokens.yours") : t("tokens.active")),
      cell("col.actions", {}, token.revoked_at || mine ? "—"
        : h("button", { type: "button", class: "danger revoke", onclick: () => revokeToken(token) }, t("tokens.revoke"))));
  }));
}

export async function issueToken(event) {
  event.preventDefault();
  clearMessage($("#token-error"), $("#tokens-result"));
  show($("#token-new"), false);
  try {
    const { data } = await api("POST", "/tokens", { body: { role: $("#token-role").value, label: $("#token-label").value.trim() } });
    // Shown once, here: the API keeps only its hash.
    say($("#token-new-text"), () => t("tokens.once", { label: data.label, role: t(`role.${data.role}`) }), false);
    $("#token-new-value").textContent = data.token;
    show($("#token-new"));
    $("#token-label").value = "";
    await loadTokens();
  } catch (error) {
    showError($("#token-error"), error);
    $("#token-label").focus();
  }
}

export async function revokeToken(token) {
  clearMessage($("#tokens-error"), $("#tokens-result"));
  const ok = await confirmDialog(() => t("tokens.revokeConfirm", { label: token.label || token.token_id, role: t(`role.${token.role}`) }), { ok: "tokens.revoke" });
  if (!ok) return;
  try {
    await api("DELETE", `/tokens/${encodeURIComponent(token.token_id)}`);
    notice($("#tokens-result"), "tokens.revokedDone", { label: token.label || token.token_id });
    show($("#token-new"), false);
    await loadTokens();
  } catch (error) {
    showError($("#tokens-error"), error);
  }
}
