"""The user pool's managed sign-in domain (Cognito's hosted UI), as much of it as the console's
single sign-on uses, with a demo OIDC provider in place of Entra ID or Google Workspace.

- `enable` gives the embedded pool what the template gives it when its OIDC parameters are set:
  the identity provider (named like the template's OidcProviderName) and the console's app client
  with the authorization code flow, its scopes, its callback URL (the console's) and its providers.
- `SignInDomain` answers `GET /oauth2/authorize`, the demo provider's page, and
  `POST /oauth2/token`, refusing what Cognito refuses: an unknown client, a redirect_uri that is
  not exactly one the client registered (an error page, never a redirect), a flow, scope or
  provider the client does not allow, a code challenge method other than S256; at the token
  endpoint a code that is unknown, used before (single use, whatever the outcome), older than five
  minutes, of another client or redirect_uri, or whose PKCE verifier does not hash to its challenge.
- A person's first sign-in through the provider runs the pool's pre sign-up trigger (the template's
  function, as its own invocation) exactly as Cognito would before creating a user of the
  provider's own; its refusal comes back to the console as Cognito sends it, in `error_description`.
  A provider identity linked to a user (AdminLinkProviderForUser) signs in as that user, with the
  same tokens the pool issues to a password sign-in (billing_local.cognito's token trigger runs).

The demo provider asks for an email and vouches for it (its subject is derived from the email), so
locally anyone can claim any address: what is tested is the pool's side, not the provider's."""
import base64
import hashlib
import html
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from . import cognito, gateway, iam, template

CODE_SECONDS = 300  # Cognito's authorization codes are valid five minutes
OAUTH_KEYS = ("SupportedIdentityProviders", "AllowedOAuthFlowsUserPoolClient", "AllowedOAuthFlows", "AllowedOAuthScopes",
              "CallbackURLs", "LogoutURLs")
DEMO_DETAILS = {"client_id": "local-demo", "client_secret": "local-demo", "oidc_issuer": "https://login.demo.invalid/v2.0"}
PAGE_CSP = "default-src 'none'; form-action 'self'; base-uri 'none'"


def _resolved(value, refs: dict):
    """A template value as deployed with the OIDC parameters set (every condition true, the
    parameters' Refs replaced); None where it resolves to AWS::NoValue."""
    if isinstance(value, dict) and "Fn::If" in value:
        return _resolved(value["Fn::If"][1], refs)
    if isinstance(value, dict) and "Ref" in value:
        return None if value["Ref"] == "AWS::NoValue" else refs.get(value["Ref"], value["Ref"])
    if isinstance(value, list):
        return [_resolved(item, refs) for item in value]
    return value


def enable(idp, pool: dict, provider: str, console_url: str) -> None:
    """The pool and the console's app client as the template makes them with OIDC parameters."""
    (declared,) = [r["Properties"] for r in template.load()["Resources"].values() if r.get("Type") == "AWS::Cognito::UserPoolIdentityProvider"]
    details = {name: value if isinstance(value, str) else DEMO_DETAILS[name] for name, value in declared["ProviderDetails"].items()}
    idp.create_identity_provider(UserPoolId=pool["user_pool_id"], ProviderName=provider, ProviderType=declared["ProviderType"],
                                 ProviderDetails=details, AttributeMapping=declared.get("AttributeMapping") or {})
    refs = {"OidcProvider": provider, "ConsoleUrl": console_url}
    (props,) = [p for name, p in template.user_pool_clients().items() if cognito.PHYSICAL.get(name) == pool["client_id"]]
    settings = {key: props[key] for key in cognito.CLIENT_KEYS if key in props and key != "GenerateSecret"}  # an update resets what it omits
    settings.update({key: _resolved(props[key], refs) for key in OAUTH_KEYS if key in props})
    idp.update_user_pool_client(UserPoolId=pool["user_pool_id"], ClientId=pool["client_id"], ClientName=props["ClientName"],
                                **{key: value for key, value in settings.items() if value is not None})
    os.environ["OIDC_PROVIDER_NAME"] = provider  # the trigger's environment, as the template sets it


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    state: str | None
    challenge: str | None
    scopes: str
    expires: float
    username: str = ""


def _answer(status: int, body: dict | str, headers: dict | None = None) -> tuple[int, dict, bytes]:
    if isinstance(body, dict):
        return status, {"content-type": "application/json", "cache-control": "no-store", **(headers or {})}, json.dumps(body).encode()
    return status, {"content-type": "text/html; charset=utf-8", "cache-control": "no-store",
                    "content-security-policy": PAGE_CSP, **(headers or {})}, body.encode()


def _redirect(grant: Grant, **params) -> tuple[int, dict, bytes]:
    if grant.state is not None:
        params["state"] = grant.state
    separator = "&" if "?" in grant.redirect_uri else "?"
    return 302, {"location": grant.redirect_uri + separator + urlencode(params), "cache-control": "no-store"}, b""


def _page(title: str, text: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{text}</body></html>")


class SignInDomain:
    """`/oauth2/...` of the pool's sign-in domain, on the local stack's origin. `clock`: epoch seconds."""

    AUTHORIZE, PROVIDER, TOKEN = "/oauth2/authorize", "/oauth2/idpresponse", "/oauth2/token"

    def __init__(self, pool: dict, provider: str, clock=time.time):
        self.pool, self.provider, self.clock = pool, provider, clock
        self._pending: dict[str, Grant] = {}  # the provider's leg, by the key its page sends back
        self._codes: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def _embedded(self):
        from moto.cognitoidp.models import cognitoidp_backends

        backend = cognitoidp_backends[iam.ACCOUNT][self.pool["region"]]
        return backend, backend.user_pools[self.pool["user_pool_id"]]

    def handle(self, method: str, path: str, query: str, headers: dict, body: bytes | None) -> tuple[int, dict, bytes]:
        routes = {("GET", self.AUTHORIZE): self.authorize, ("GET", self.PROVIDER): self.provider_response,
                  ("POST", self.TOKEN): lambda q: self.token(headers, body)}
        if (method, path) not in routes:
            return _answer(404 if path not in {p for _, p in routes} else 405, {"error": "invalid_request"})
        return routes[(method, path)](parse_qs(query, keep_blank_values=True))

    # ------------------------------------------------------------ /oauth2/authorize

    def authorize(self, query: dict) -> tuple[int, dict, bytes]:
        asked = {name: values[-1] for name, values in query.items()}
        _, pool = self._embedded()
        client = pool.clients.get(asked.get("client_id", ""))
        if client is None:
            return _answer(400, _page("Sign-in error", "<p>error: invalid_client</p>"))
        config = client.extended_config
        if asked.get("redirect_uri") not in (config.get("CallbackURLs") or []) or any(len(v) > 1 for v in query.values()):
            return _answer(400, _page("Sign-in error", "<p>error: redirect_mismatch</p>"))  # never sent anywhere
        scopes = (asked.get("scope") or " ".join(config.get("AllowedOAuthScopes") or [])).split()
        grant = Grant(client.id, asked["redirect_uri"], asked.get("state"), asked.get("code_challenge"), " ".join(scopes),
                      self.clock() + CODE_SECONDS)
        if not config.get("AllowedOAuthFlowsUserPoolClient") or "code" not in (config.get("AllowedOAuthFlows") or []):
            return _redirect(grant, error="unauthorized_client")
        if asked.get("response_type") != "code":
            return _redirect(grant, error="unsupported_response_type")
        if not set(scopes) <= set(config.get("AllowedOAuthScopes") or []):
            return _redirect(grant, error="invalid_scope")
        if grant.challenge is not None and asked.get("code_challenge_method") != "S256":
            return _redirect(grant, error="invalid_request", error_description="code_challenge_method must be S256")
        provider = asked.get("identity_provider")
        if provider != self.provider or provider not in (config.get("SupportedIdentityProviders") or []):
            return _redirect(grant, error="invalid_request", error_description="identity_provider is not one of the client's")
        key = secrets.token_urlsafe(24)
        with self._lock:
            now = self.clock()  # what was abandoned is forgotten
            for kept in (self._pending, self._codes):
                for stale in [k for k, g in kept.items() if g.expires <= now]:
                    del kept[stale]
            self._pending[key] = grant
        form = (f"<p>Local stand-in for {html.escape(provider)}: it vouches for any email you type.</p>"
                f"<form method='get' action='{self.PROVIDER}'><input type='hidden' name='session' value='{key}'>"
                "<label for='email'>Email</label> <input id='email' name='email' type='email' autocomplete='username'> "
                "<button id='continue' type='submit'>Continue</button></form>")
        return _answer(200, _page(f"Sign in to {provider}", form))

    # ------------------------------------------------------------ back from the provider

    def provider_response(self, query: dict) -> tuple[int, dict, bytes]:
        with self._lock:
            grant = self._pending.pop((query.get("session") or [""])[-1], None)
        if grant is None or grant.expires <= self.clock():
            return _answer(400, _page("Sign-in error", "<p>error: invalid_request (this sign-in has expired; start again)</p>"))
        email = (query.get("email") or [""])[-1].strip()
        if not email:
            return _redirect(grant, error="access_denied", error_description="the provider gave no identity")
        subject = "demo-" + hashlib.sha256(email.lower().encode()).hexdigest()[:20]
        backend, pool = self._embedded()
        user = self._linked(pool, subject)
        if user is None:
            try:
                self._pre_sign_up(pool, grant, subject, email)
            except Exception as refusal:  # noqa: BLE001 - any failure of the trigger refuses the sign-in, as in Cognito
                return _redirect(grant, error_description=f"PreSignUp failed with error {refusal}. ", error="invalid_request")
            return _redirect(grant, error="server_error",
                             error_description="the trigger admitted a user of the provider's own: the local stand-in does not create one")
        if not user.enabled:
            return _redirect(grant, error_description="User is disabled. ", error="invalid_request")
        code = secrets.token_urlsafe(32)
        grant.username, grant.expires = user.username, self.clock() + CODE_SECONDS
        with self._lock:
            self._codes[code] = grant
        return _redirect(grant, code=code)

    def _linked(self, pool, subject: str):
        for user in pool.users.values():
            found = next((a["Value"] for a in user.attributes if a["Name"] == "identities"), "[]")
            if any((i.get("providerName"), i.get("userId")) == (self.provider, subject) for i in json.loads(found)):
                return user
        return None

    def _pre_sign_up(self, pool, grant: Grant, subject: str, email: str) -> None:
        arn = (template.user_pool()[1].get("LambdaConfig") or {}).get("PreSignUp")
        function = (_resolved(arn, {}) or "").split(".", 1)[0]
        if not function:
            return
        event = {"version": "1", "triggerSource": "PreSignUp_ExternalProvider", "region": self.pool["region"],
                 "userPoolId": pool.id, "userName": f"{self.provider}_{subject}",
                 "callerContext": {"awsSdkVersion": "local", "clientId": grant.client_id},
                 "request": {"userAttributes": {"email": email, "email_verified": "true",
                                                "cognito:user_status": "EXTERNAL_PROVIDER"}, "validationData": None},
                 "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}}
        gateway.invoke_function(function, gateway.function_handler(function), event)

    # ------------------------------------------------------------ /oauth2/token

    def token(self, headers: dict, body: bytes | None) -> tuple[int, dict, bytes]:
        kind = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        if kind.split(";")[0].strip().lower() != "application/x-www-form-urlencoded":
            return _answer(400, {"error": "invalid_request"})
        form = {name: values[-1] for name, values in parse_qs((body or b"").decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "authorization_code":
            return _answer(400, {"error": "unsupported_grant_type"})
        backend, pool = self._embedded()
        client = pool.clients.get(form.get("client_id", ""))
        if client is None or client.generate_secret:  # a client with a secret must authenticate: not the console's
            return _answer(400, {"error": "invalid_client"})
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # single use, whatever follows
        verifier = form.get("code_verifier")
        if (grant is None or grant.expires <= self.clock() or grant.client_id != client.id
                or grant.redirect_uri != form.get("redirect_uri")
                or (grant.challenge is not None and (verifier is None or _s256(verifier) != grant.challenge))):
            return _answer(400, {"error": "invalid_grant"})
        user = pool._get_user(grant.username)
        if user is None or not user.enabled:  # deleted or disabled since the code was issued
            return _answer(400, {"error": "invalid_grant"})
        with cognito.granted(grant.scopes):
            issued = backend._log_user_in(pool, client, grant.username)["AuthenticationResult"]
        return _answer(200, {"id_token": issued["IdToken"], "access_token": issued["AccessToken"],
                             "refresh_token": issued["RefreshToken"], "expires_in": issued["ExpiresIn"], "token_type": "Bearer"})


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii", "replace")).digest()).rstrip(b"=").decode()
