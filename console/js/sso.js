import { clearMessage, notice } from "./errors.js";
import { adopt, federation } from "./people.js";
import { $ } from "./state.js";
import { say, t } from "./words.js";

// Single sign-on through the deployment's identity provider (Entra ID, Google Workspace), when
// /console/config.json names one: the OAuth 2.0 authorization code flow with PKCE (S256) against
// the user pool's managed sign-in domain. The button sends the person to /oauth2/authorize with
// the provider's name, a fresh `state` and code challenge kept in this tab; the domain sends them
// back to the console with a code (or an error, such as the pool's refusal of someone nobody
// invited), which is exchanged at /oauth2/token (a public client: no secret, the verifier instead).
// An answer whose `state` is not the one this tab sent is ignored: nothing is exchanged or kept.
// The tokens are then kept and renewed exactly as a password sign-in's (people.js).

const PENDING_KEY = "rsa.console.sso";
const SCOPES = "openid email profile aws.cognito.signin.user.admin"; // the last one: what the staff API's authorizer asks
const RETURN = ["code", "state", "error", "error_description"];
// The pool's pre sign-up trigger refuses with "<reason>: <words>"; each reason is said in the page's language.
const REASONS = { linked: "sso.linked", not_invited: "sso.notInvited", unverified: "sso.unverified", no_email: "sso.noEmail",
  disabled: "sso.disabled", ambiguous: "sso.ambiguous", other_provider: "sso.otherProvider" };

const base64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
const random = (size) => base64url(crypto.getRandomValues(new Uint8Array(size)));

/** Shows "Sign in with <provider>" when the deployment has one. */
export function offerSso() {
  const sso = federation();
  $("#sso").hidden = !sso;
  if (sso) say($("#sso-signin"), () => t("sso.button", { provider: sso.provider }));
}

export async function startSso() {
  const sso = federation();
  const verifier = random(48);
  const state = random(24);
  const challenge = base64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  sessionStorage.setItem(PENDING_KEY, JSON.stringify({ state, verifier }));
  const url = new URL("/oauth2/authorize", sso.domain);
  const asked = { response_type: "code", client_id: sso.client_id, redirect_uri: sso.redirect_uri, identity_provider: sso.provider,
    scope: SCOPES, state, code_challenge: challenge, code_challenge_method: "S256" };
  for (const [name, value] of Object.entries(asked)) url.searchParams.set(name, value);
  location.assign(url.href);
}

function refusal(box, provider, answer) {
  const description = answer.get("error_description") || "";
  const [, reason, words] = description.match(/^PreSignUp failed with error (\w+): (.*?)\.?\s*$/s) || [];
  if (reason && REASONS[reason]) notice(box, REASONS[reason], { provider });
  else if (/^User is disabled/.test(description)) notice(box, "sso.disabled");
  else if (answer.get("error") === "access_denied") notice(box, "sso.cancelled", { provider });
  else notice(box, "sso.refused", { provider, message: words || description || answer.get("error") });
}

/** Back from the sign-in domain? undefined when this page was not opened by it; else the access
 * token, or null when there is none (the page says why). */
export async function finishSso() {
  const here = new URL(location.href);
  if (!here.searchParams.has("code") && !here.searchParams.has("error")) return undefined;
  const answer = new URLSearchParams(here.search);
  const pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) || "null");
  sessionStorage.removeItem(PENDING_KEY); // one answer per start
  for (const name of RETURN) here.searchParams.delete(name);
  history.replaceState(null, "", here.pathname + here.search + here.hash); // the code leaves the address bar and the history
  const sso = federation();
  const box = $("#sso-error");
  clearMessage(box);
  if (!sso) return null;
  if (!pending || answer.get("state") !== pending.state) { notice(box, "sso.state"); return null; }
  if (!answer.get("code")) { refusal(box, sso.provider, answer); return null; }
  notice(box, "sso.checking", { provider: sso.provider });
  const form = new URLSearchParams({ grant_type: "authorization_code", client_id: sso.client_id, code: answer.get("code"),
    redirect_uri: sso.redirect_uri, code_verifier: pending.verifier });
  let response;
  try {
    response = await fetch(new URL("/oauth2/token", sso.domain), { method: "POST", body: form, cache: "no-store",
      headers: { "Content-Type": "application/x-www-form-urlencoded" } });
  } catch {
    notice(box, "people.unreachable");
    return null;
  }
  const tokens = await response.json().catch(() => ({}));
  if (!response.ok || !tokens.access_token) { notice(box, "sso.failed", { provider: sso.provider }); return null; }
  clearMessage(box);
  return adopt(tokens);
}
