"""TOTP MFA: offered to every person; with AdminMfaRequired an admin without an authenticator app
is signed in without the admin role (so they can set one up) and is an admin again once the pool
asks them for its code. Codes are checked (the embedded Cognito verifies TOTP codes)."""
import base64
import time

import boto3
import pytest
from api.conftest import assert_error
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

from auth.conftest import Person


def code(secret: str, at: float | None = None) -> str:
    """The authenticator app's code (RFC 6238: SHA-1, 6 digits, 30 s) of a base32 secret."""
    key = base64.b32decode(secret + "=" * (-len(secret) % 8), casefold=True)
    return TOTP(key, 6, SHA1(), 30, enforce_key_length=False).generate(int(at or time.time())).decode()


@pytest.fixture
def strict_mfa(monkeypatch):
    monkeypatch.setenv("ADMIN_MFA_REQUIRED", "true")  # the template's parameter, as the trigger's environment says it
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")


def test_an_admin_becomes_admin_only_with_an_authenticator_app(strict_mfa, pool, msp, gateway):
    idp = boto3.client("cognito-idp")
    admin, technician = (Person(gateway, pool, msp.tenant_id, role) for role in ("admin", "technician"))
    error = assert_error(admin.get("/v1/users"), 403, "forbidden")
    assert "MFA" in error["message"]
    assert technician.get("/v1/me")[1]["role"] == "technician"  # required for admins only

    secret = idp.associate_software_token(AccessToken=admin.token)["SecretCode"]
    with pytest.raises(idp.exceptions.CodeMismatchException):
        idp.verify_software_token(AccessToken=admin.token, UserCode=code(secret, time.time() - 300))
    idp.verify_software_token(AccessToken=admin.token, UserCode=code(secret))
    idp.set_user_mfa_preference(AccessToken=admin.token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True})

    asked = idp.initiate_auth(ClientId=pool["client_id"], AuthFlow="USER_PASSWORD_AUTH",
                              AuthParameters={"USERNAME": admin.email, "PASSWORD": admin.password})
    assert asked["ChallengeName"] == "SOFTWARE_TOKEN_MFA" and "AuthenticationResult" not in asked
    answer = idp.respond_to_auth_challenge(ClientId=pool["client_id"], ChallengeName="SOFTWARE_TOKEN_MFA", Session=asked["Session"],
                                           ChallengeResponses={"USERNAME": admin.email, "SOFTWARE_TOKEN_MFA_CODE": code(secret)})
    admin.token = answer["AuthenticationResult"]["AccessToken"]
    assert admin.get("/v1/me")[1]["role"] == "admin"
    assert admin.get("/v1/users")[0] == 200
