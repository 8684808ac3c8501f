import { clearMessage, notice } from "./errors.js";
import { expire } from "./signin.js";
import { $, state } from "./state.js";

// Staff who sign in as people: email, password and, when the user pool asks, the code of their
// authenticator app (TOTP), against the user pool's own API (InitiateAuth, RespondToAuthChallenge),
// with the console's app client (no secret). The access token (15 minutes) is what the API gets;
// it is renewed silently with the refresh token a minute before it expires. Where the pool is and
// which app client the console is come from /console/config.json (the local stack serves it; a
// deployment writes it from the stack's outputs). Without it, only API tokens are offered.

const REFRESH_KEY = "rsa.console.refresh";
let config = null;
let timer = null;

export async function loadConfig() {
  try {
    const response = await fetch("/console/config.json", { cache: "no-store" });
    config = response.ok ? await response.json() : null;
  } catch {
    config = null;
  }
  return config;
}

export const offered = () => Boolean(config && config.idp && config.client_id);

/** Single sign-on, when the deployment has an identity provider: {provider, domain, redirect_uri}, else null. */
export const federation = () => (offered() && config.sso && config.sso.provider && config.sso.domain ? { ...config.sso, client_id: config.client_id } : null);

class Refused extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

async function idp(action, body) {
  let response;
  try {
    response = await fetch(config.idp, {
      method: "POST", cache: "no-store", body: JSON.stringify(body),
      headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}` },
    });
  } catch (failure) {
    throw new Refused("network", failure.message);
  }
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Refused(String(data.__type || data.code || "").split("#").pop(), data.message || "");
  return data;
}

function keep(result) {
  if (result.RefreshToken) sessionStorage.setItem(REFRESH_KEY, result.RefreshToken);
  clearTimeout(timer);
  timer = setTimeout(renew, Math.max(5, (result.ExpiresIn || 900) - 60) * 1000);
  return result.AccessToken;
}

/** Tokens of a sign-in through the provider (the token endpoint's answer), kept as a password sign-in's: the access token. */
export const adopt = (answer) => keep({ AccessToken: answer.access_token, RefreshToken: answer.refresh_token, ExpiresIn: answer.expires_in });

/** The access token of the person the form names, or null (the form says why). */
export async function personSignIn() {
  const box = $("#people-error");
  clearMessage(box);
  const email = $("#email").value.trim();
  const password = $("#password").value;
  if (!email || !password) { notice(box, "people.empty"); return null; }
  notice(box, "people.checking");
  try {
    let answer = await idp("InitiateAuth", { AuthFlow: "USER_PASSWORD_AUTH", ClientId: config.client_id,
      AuthParameters: { USERNAME: email, PASSWORD: password } });
    if (answer.ChallengeName === "SOFTWARE_TOKEN_MFA") {
      const code = $("#mfa-code").value.trim();
      if (!code) { notice(box, "people.codeNeeded"); $("#mfa-code").focus(); return null; }
      answer = await idp("RespondToAuthChallenge", { ChallengeName: "SOFTWARE_TOKEN_MFA", ClientId: config.client_id,
        Session: answer.Session, ChallengeResponses: { USERNAME: email, SOFTWARE_TOKEN_MFA_CODE: code } });
    }
    if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
      const chosen = $("#new-password").value;
      if (!chosen) { $("#new-password-row").hidden = false; notice(box, "people.newPassword"); $("#new-password").focus(); return null; }
      answer = await idp("RespondToAuthChallenge", { ChallengeName: "NEW_PASSWORD_REQUIRED", ClientId: config.client_id,
        Session: answer.Session, ChallengeResponses: { USERNAME: email, NEW_PASSWORD: chosen } });
    }
    if (!answer.AuthenticationResult) { notice(box, "people.refused"); return null; }
    clearMessage(box);
    for (const id of ["#password", "#mfa-code", "#new-password"]) $(id).value = "";
    return keep(answer.AuthenticationResult);
  } catch (error) {
    notice(box, error.code === "network" ? "people.unreachable" : error.code === "InvalidPasswordException" ? "people.weak" : "people.refused");
    return null;
  }
}

/** A new access token from the kept refresh token (silently, before the last one expires). */
export async function renew() {
  const refresh = sessionStorage.getItem(REFRESH_KEY);
  if (!refresh || !offered()) return null;
  try {
    const answer = await idp("InitiateAuth", { AuthFlow: "REFRESH_TOKEN_AUTH", ClientId: config.client_id,
      AuthParameters: { REFRESH_TOKEN: refresh } });
    const token = keep(answer.AuthenticationResult);
    if (state.token) state.token = token; // signed in: the next request carries the new token
    return token;
  } catch (error) {
    forgetPerson();
    if (state.token) expire(error); // disabled, signed out elsewhere, or the refresh token expired
    return null;
  }
}

/** The refresh token this tab keeps (a reload signs the person in again with it), or null. */
export const keptPerson = () => sessionStorage.getItem(REFRESH_KEY);

export async function resume(refresh) {
  sessionStorage.setItem(REFRESH_KEY, refresh);
  return renew();
}

export function forgetPerson() {
  clearTimeout(timer);
  sessionStorage.removeItem(REFRESH_KEY);
}

/** Signing out: the user pool revokes this person's refresh tokens (every device), then the tab forgets. */
export function endPerson() {
  const access = state.token;
  if (keptPerson() && offered() && access) idp("GlobalSignOut", { AccessToken: access }).catch(() => {});
  forgetPerson();
}
