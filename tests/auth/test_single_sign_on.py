"""Single sign-on through the deployment's OIDC provider (Entra ID, Google Workspace): a person's
first sign-in runs the pool's pre sign-up trigger (the template's function, under its own IAM
policy, in the embedded AWS), which lets in only people an admin invited, by linking the provider's
identity to the invited user, and refuses everyone else in words, creating and linking nothing."""
import json

import boto3
import pytest

from billing_core import users
from billing_local import gateway as local_gateway
from billing_local import iam

PROVIDER = "Workplace"  # the template's OidcProviderName default


@pytest.fixture
def sso(pool, monkeypatch):
    """The pool with the OIDC provider the template declares when OidcIssuerUrl is set."""
    monkeypatch.setenv("OIDC_PROVIDER_NAME", PROVIDER)  # the function's environment, as the template sets it
    boto3.client("cognito-idp").create_identity_provider(
        UserPoolId=pool["user_pool_id"], ProviderName=PROVIDER, ProviderType="OIDC",
        ProviderDetails={"client_id": "console", "client_secret": "secret", "oidc_issuer": "https://login.example/tenant/v2.0",
                         "attributes_request_method": "GET", "authorize_scopes": "openid email profile"},
        AttributeMapping={"email": "email", "name": "name"})
    return pool


def first_sign_in(pool: dict, subject: str, email: str | None, verified: str | None = "true") -> str:
    """What Cognito sends the trigger before it would create `<provider>_<subject>`; answers the
    refusal the sign-in page shows (every outcome is one: a link asks to sign in again)."""
    attributes = {"sub": "new-user-sub", "cognito:user_status": "EXTERNAL_PROVIDER"}
    attributes.update({"email": email} if email is not None else {})
    attributes.update({"email_verified": verified} if verified is not None else {})
    event = {"version": "1", "triggerSource": "PreSignUp_ExternalProvider", "region": "us-east-1",
             "userPoolId": pool["user_pool_id"], "userName": f"{PROVIDER}_{subject}",
             "callerContext": {"awsSdkVersion": "local", "clientId": pool["client_id"]},
             "request": {"userAttributes": attributes, "validationData": None},
             "response": {"autoConfirmUser": False, "autoVerifyEmail": False, "autoVerifyPhone": False}}
    with pytest.raises(users.NotAdmitted) as refused:
        invoke(event)
    return str(refused.value)


def pool_state(pool: dict) -> list:
    idp = boto3.client("cognito-idp")
    return sorted((u["Username"], u["Enabled"], sorted(u["Attributes"], key=str)) for u in idp.list_users(UserPoolId=pool["user_pool_id"])["Users"])


def attributes_of(pool: dict, email: str) -> dict:
    user = boto3.client("cognito-idp").admin_get_user(UserPoolId=pool["user_pool_id"], Username=email)
    return {a["Name"]: a["Value"] for a in user["UserAttributes"]}


def links(pool: dict, email: str) -> list[tuple[str, str]]:
    return [(i["providerName"], i["userId"]) for i in json.loads(attributes_of(pool, email).get("identities", "[]"))]


def test_an_invited_person_is_linked_to_their_invitation_with_its_tenant_and_role(sso, msp):
    status, invited = msp.admin.post("/v1/users", {"email": "dana@acme.example", "role": "finance", "name": "Dana"})
    assert status == 201, invited
    before = len(pool_state(sso))
    message = first_sign_in(sso, "entra-oid-1", "Dana@Acme.example")
    assert "linked to your invitation" in message and "sign in again" in message
    assert links(sso, "dana@acme.example") == [(PROVIDER, "entra-oid-1")]
    assert attributes_of(sso, "dana@acme.example")["custom:tenant_id"] == msp.tenant_id  # what their tokens will carry
    assert len(pool_state(sso)) == before  # no user of the provider's own: the invited one is who signs in
    (listed,) = [u for u in msp.admin.get("/v1/users")[1]["users"] if u["email"] == "dana@acme.example"]
    assert (listed["user_id"], listed["role"], listed["enabled"]) == (invited["user_id"], "finance", True)


def test_someone_nobody_invited_is_refused_and_nothing_changes(sso, msp, other_msp):
    msp.admin.post("/v1/users", {"email": "dana@acme.example", "role": "finance"})
    before = pool_state(sso)
    assert "mallory@acme.example has not been invited" in first_sign_in(sso, "entra-oid-2", "mallory@acme.example")
    assert "no usable email" in first_sign_in(sso, "entra-oid-3", None)
    assert "no usable email" in first_sign_in(sso, "entra-oid-4", 'dana@acme.example" or email ^= "')
    assert "not verified" in first_sign_in(sso, "entra-oid-5", "dana@acme.example", verified="false")
    assert pool_state(sso) == before


def test_a_disabled_person_is_refused(sso, msp):
    made = msp.admin.post("/v1/users", {"email": "dana@acme.example", "role": "finance"})[1]
    assert msp.admin.patch(f"/v1/users/{made['user_id']}", {"enabled": False})[0] == 200
    assert "disabled" in first_sign_in(sso, "entra-oid-6", "dana@acme.example")
    assert links(sso, "dana@acme.example") == []


def test_an_email_of_two_tenants_is_refused_rather_than_guessed(sso, msp, other_msp):
    """The pool keeps emails unique (a second invitation of one email is a 409, and so is changing
    an email to one in use); were two users ever found with one, no tenant is picked. The embedded
    pool's record is changed behind the API to make that case."""
    from moto.cognitoidp.models import cognitoidp_backends

    msp.admin.post("/v1/users", {"email": "dana@acme.example", "role": "finance"})
    rival = other_msp.admin.post("/v1/users", {"email": "dana@rival.example", "role": "admin"})[1]
    assert other_msp.admin.post("/v1/users", {"email": "dana@acme.example", "role": "admin"})[0] == 409
    embedded = cognitoidp_backends[iam.ACCOUNT][sso["region"]].user_pools[sso["user_pool_id"]]._get_user(rival["email"])
    embedded.attributes = [a for a in embedded.attributes if a["Name"] != "email"] + [{"Name": "email", "Value": "dana@acme.example"}]
    before = pool_state(sso)
    assert "more than one invitation" in first_sign_in(sso, "entra-oid-7", "dana@acme.example")
    assert pool_state(sso) == before


def invoke(event: dict):
    function = "PreSignUpFunction"
    return local_gateway.invoke_function(function, local_gateway.function_handler(function), event)


def test_only_the_deployments_provider_is_linked_and_an_invitation_passes_through(sso, msp):
    msp.admin.post("/v1/users", {"email": "dana@acme.example", "role": "finance"})
    with pytest.raises(users.NotAdmitted, match="not through Workplace"):
        invoke({"triggerSource": "PreSignUp_ExternalProvider", "userPoolId": sso["user_pool_id"], "userName": "Other_oid-8",
                "request": {"userAttributes": {"email": "dana@acme.example"}}})
    assert links(sso, "dana@acme.example") == []
    invitation = {"triggerSource": "PreSignUp_AdminCreateUser", "userPoolId": sso["user_pool_id"], "userName": "someone",
                  "request": {"userAttributes": {"email": "erin@acme.example"}}, "response": {}}
    assert invoke(dict(invitation)) == invitation  # an admin's invitation: nothing to decide
