"""Cognito's pre token generation trigger (event version 2): runs when the user pool issues tokens
(sign-in, refresh), never per API request. It copies the user's immutable `custom:tenant_id` into
the access token as `tenant_id`, and the user's name (else email) as `name`, which the audit keeps
(Cognito puts attributes in ID tokens only; the JWT authorizer hands the access token's claims to
the functions). With ADMIN_MFA_REQUIRED=true an
admin who has not set up TOTP MFA gets tokens without the admin group until they do (they can still
sign in, set up their authenticator app with the access token, and sign in again)."""
import os

ADMIN = "admin"


def _has_totp(user_pool_id: str, username: str) -> bool:
    import boto3  # only when admins must have MFA: every other sign-in skips its import

    user = boto3.client("cognito-idp").admin_get_user(UserPoolId=user_pool_id, Username=username)
    return "SOFTWARE_TOKEN_MFA" in (user.get("UserMFASettingList") or [])


def lambda_handler(event: dict, context=None) -> dict:
    request = event.get("request") or {}
    attributes = request.get("userAttributes") or {}
    tenant_id = attributes.get("custom:tenant_id") or ""
    claims = {"tenant_id": tenant_id, "name": attributes.get("name") or attributes.get("email") or ""}
    groups = list((request.get("groupConfiguration") or {}).get("groupsToOverride") or [])
    details: dict = {"accessTokenGeneration": {"claimsToAddOrOverride": claims},
                     "idTokenGeneration": {"claimsToAddOrOverride": {"tenant_id": tenant_id}}}
    if (ADMIN in groups and os.environ.get("ADMIN_MFA_REQUIRED") == "true"
            and not _has_totp(event["userPoolId"], event["userName"])):
        details["groupOverrideDetails"] = {"groupsToOverride": [g for g in groups if g != ADMIN]}
    event["response"] = {"claimsAndScopeOverrideDetails": details}
    return event
