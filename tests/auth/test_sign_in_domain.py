"""The local stand-in for the pool's managed sign-in domain (billing_local.signin_domain), called
in-process: the authorization code flow with PKCE the console runs for single sign-on, refused
where Cognito refuses it, and going through the pool's pre sign-up trigger so that only invited
people get a code, and their tokens are the invited user's."""
import base64
import hashlib
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

import boto3
import pytest
from conftest import Client

from billing_local import signin_domain

CONSOLE = "https://console.example/"
PROVIDER = "Workplace"
FORM = {"content-type": "application/x-www-form-urlencoded"}


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def domain(pool):
    signin_domain.enable(boto3.client("cognito-idp"), pool, PROVIDER, CONSOLE)
    return signin_domain.SignInDomain(pool, PROVIDER, clock=Clock())


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def authorize(domain, challenge: str | None, **changed) -> tuple[int, dict, bytes]:
    asked = {"response_type": "code", "client_id": domain.pool["client_id"], "redirect_uri": CONSOLE,
             "identity_provider": PROVIDER, "scope": "openid email profile aws.cognito.signin.user.admin", "state": "st-1",
             "code_challenge": challenge, "code_challenge_method": "S256", **changed}
    return domain.handle("GET", "/oauth2/authorize", urlencode({k: v for k, v in asked.items() if v is not None}), {}, None)


def returned(answer) -> dict:
    """Where the browser is sent back to the console: the query it carries."""
    status, headers, _ = answer
    assert status == 302, answer
    url = urlsplit(headers["location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == CONSOLE
    return {name: values[-1] for name, values in parse_qs(url.query).items()}


def through_provider(domain, email: str, challenge: str | None, **changed) -> dict:
    status, _, page = authorize(domain, challenge, **changed)
    assert status == 200 and b"Continue" in page
    session = page.decode().split("name='session' value='", 1)[1].split("'", 1)[0]
    return returned(domain.handle("GET", "/oauth2/idpresponse", urlencode({"session": session, "email": email}), {}, None))


def exchange(domain, code: str, verifier: str | None, **changed) -> tuple[int, dict]:
    import json

    form = {"grant_type": "authorization_code", "client_id": domain.pool["client_id"], "code": code, "redirect_uri": CONSOLE,
            "code_verifier": verifier, **changed}
    status, _, body = domain.handle("POST", "/oauth2/token", "", FORM, urlencode({k: v for k, v in form.items() if v is not None}).encode())
    return status, json.loads(body)


def code_for(domain, email: str, **changed) -> tuple[str, str]:
    verifier, challenge = pkce()
    back = through_provider(domain, email, challenge, **changed)
    assert set(back) == {"code", "state"} and back["state"] == "st-1", back
    return back["code"], verifier


@pytest.fixture
def dana(domain, msp):
    """Invited as finance; her first sign-in through the provider links her (and asks her to sign in again)."""
    status, made = msp.admin.post("/v1/users", {"email": "dana@acme.example", "role": "finance", "name": "Dana"})
    assert status == 201, made
    first = through_provider(domain, "dana@acme.example", pkce()[1])
    assert first["error"] == "invalid_request" and first["state"] == "st-1" and "code" not in first
    assert first["error_description"].startswith("PreSignUp failed with error linked: your Workplace account is now linked")
    return made


def test_an_invited_person_signs_in_through_the_provider_as_their_invitation(domain, dana, msp, gateway):
    code, verifier = code_for(domain, "Dana@Acme.example")
    status, tokens = exchange(domain, code, verifier)
    assert status == 200, tokens
    assert set(tokens) == {"id_token", "access_token", "refresh_token", "expires_in", "token_type"} and tokens["expires_in"] == 900
    status, me = Client(gateway, tokens["access_token"]).get("/v1/me")  # the staff API's JWT authorizer accepts it
    assert status == 200, me
    assert (me["tenant_id"], me["role"], me["actor"]["id"], me["actor"]["name"]) == (msp.tenant_id, "finance", dana["user_id"], "Dana")
    refreshed = boto3.client("cognito-idp").initiate_auth(ClientId=domain.pool["client_id"], AuthFlow="REFRESH_TOKEN_AUTH",
                                                          AuthParameters={"REFRESH_TOKEN": tokens["refresh_token"]})
    assert Client(gateway, refreshed["AuthenticationResult"]["AccessToken"]).get("/v1/me")[1]["role"] == "finance"


def test_someone_nobody_invited_gets_the_triggers_refusal_and_no_code(domain, msp):
    back = through_provider(domain, "mallory@acme.example", pkce()[1])
    assert "code" not in back and back["error"] == "invalid_request"
    assert back["error_description"].startswith("PreSignUp failed with error not_invited: mallory@acme.example has not been invited")


def test_a_code_is_refused_with_a_wrong_verifier_and_used_once_only(domain, dana):
    code, verifier = code_for(domain, "dana@acme.example")
    assert exchange(domain, code, pkce()[0]) == (400, {"error": "invalid_grant"})
    assert exchange(domain, code, verifier) == (400, {"error": "invalid_grant"})  # spent by the failed attempt
    code, verifier = code_for(domain, "dana@acme.example")
    assert exchange(domain, code, None) == (400, {"error": "invalid_grant"})  # a challenge was sent: the verifier is due
    code, verifier = code_for(domain, "dana@acme.example")
    assert exchange(domain, code, verifier)[0] == 200
    assert exchange(domain, code, verifier) == (400, {"error": "invalid_grant"})


def test_a_code_is_refused_late_or_to_another_redirect_uri_or_client(domain, dana, pool):
    code, verifier = code_for(domain, "dana@acme.example")
    domain.clock.now += signin_domain.CODE_SECONDS
    assert exchange(domain, code, verifier) == (400, {"error": "invalid_grant"})
    code, verifier = code_for(domain, "dana@acme.example")
    assert exchange(domain, code, verifier, redirect_uri=CONSOLE + "other") == (400, {"error": "invalid_grant"})
    code, verifier = code_for(domain, "dana@acme.example")
    assert exchange(domain, code, verifier, client_id="not-a-client") == (400, {"error": "invalid_client"})
    assert exchange(domain, code, verifier, grant_type="password") == (400, {"error": "unsupported_grant_type"})
    assert exchange(domain, code, verifier)[0] == 200  # none of those spent it: they were refused before the code was read


def test_authorize_never_sends_anyone_to_a_redirect_uri_the_client_did_not_register(domain):
    verifier, challenge = pkce()
    for unregistered in ("https://console.example/other", "https://console.example", "https://evil.example/", None):
        status, headers, page = authorize(domain, challenge, redirect_uri=unregistered)
        assert (status, "location" in headers) == (400, False) and b"redirect_mismatch" in page
    assert authorize(domain, challenge, client_id="not-a-client")[0] == 400
    assert returned(authorize(domain, challenge, identity_provider="Google"))["error"] == "invalid_request"
    assert returned(authorize(domain, challenge, scope="openid phone"))["error"] == "invalid_scope"
    assert returned(authorize(domain, challenge, code_challenge_method="plain"))["error"] == "invalid_request"
    assert returned(authorize(domain, challenge, response_type="token"))["error"] == "unsupported_response_type"


def test_without_single_sign_on_the_console_client_has_no_redirect_at_all(pool):
    verifier, challenge = pkce()
    status, headers, _ = authorize(signin_domain.SignInDomain(pool, PROVIDER), challenge)
    assert (status, "location" in headers) == (400, False)


def test_a_token_holds_the_scopes_asked_so_one_without_the_staff_scope_is_refused_by_the_api(domain, dana, gateway):
    code, verifier = code_for(domain, "dana@acme.example", scope="openid email")
    status, tokens = exchange(domain, code, verifier)
    assert status == 200 and Client(gateway, tokens["access_token"]).get("/v1/me")[0] == 403  # the JWT authorizer's scope


def test_a_person_disabled_after_the_link_gets_no_code(domain, dana, msp):
    assert msp.admin.patch(f"/v1/users/{dana['user_id']}", {"enabled": False})[0] == 200
    back = through_provider(domain, "dana@acme.example", pkce()[1])
    assert "code" not in back and back["error_description"].startswith("User is disabled")
