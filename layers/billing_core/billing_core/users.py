"""A tenant's staff: people in the Cognito user pool (USER_POOL_ID), signed in with their email.
The tenant is the user's immutable `custom:tenant_id`, the role their one group (admin, technician,
finance). Every operation is within the caller's tenant: a user of another tenant is not found.

Cognito filters ListUsers on standard attributes only, so the tenant's users are read by walking
the pool's pages (60 a call) and keeping the tenant's: fine for a pool of a few thousand staff,
the size an MSP product reaches; beyond that a per-tenant list in the table would be the index.
Disabling a user signs them out everywhere (their refresh tokens are revoked); an access token
already handed out stays valid until it expires (at most 15 minutes), as with every JWT."""
import os
import re
from functools import lru_cache

import botocore.session

from . import fields, settings
from .errors import Conflict, InvalidInput, NotFound

STAFF_ROLES = ("admin", "technician", "finance")
TENANT_ATTRIBUTE = "custom:tenant_id"
EMAIL = re.compile(r"^[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")
USER_ID = re.compile(r"^[0-9a-fA-F-]{1,64}$")


def _client():
    return _client_for(settings.aws_endpoint_url(), settings.region())


@lru_cache(maxsize=4)
def _client_for(endpoint: str | None, region: str):
    """One client per endpoint (kept across invocations of a warm function); botocore's own, as
    pynamodb's: importing boto3 on top would cost the cold start ~60 modules for nothing."""
    return botocore.session.get_session().create_client("cognito-idp", endpoint_url=endpoint, region_name=region)


def _pool() -> str:
    return os.environ["USER_POOL_ID"]


def email(value) -> str:
    """An address the user pool takes as a user name: letters, digits and . _ % + ' - before the @."""
    if not isinstance(value, str) or len(value) > 254 or not EMAIL.match(value.strip()):
        raise InvalidInput("email", "must be an email address (name@domain.example)")
    return value.strip().lower()


def role(value) -> str:
    if value not in STAFF_ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(STAFF_ROLES)}")
    return value


def _attributes(user: dict) -> dict:
    return {a["Name"]: a["Value"] for a in user.get("Attributes") or user.get("UserAttributes") or []}


def _view(user: dict, user_role: str | None) -> dict:
    attributes = _attributes(user)
    created = user.get("UserCreateDate")
    return {
        "user_id": attributes.get("sub"),
        "email": attributes.get("email"),
        "name": attributes.get("name"),
        "role": user_role,
        "enabled": bool(user.get("Enabled", True)),
        "status": user.get("UserStatus"),
        "created_at": fields.utc_text(created) if created else None,
    }


def _role_of(username: str) -> str | None:
    groups = _client().admin_list_groups_for_user(UserPoolId=_pool(), Username=username).get("Groups") or []
    return next((g["GroupName"] for g in groups if g["GroupName"] in STAFF_ROLES), None)


def _tenant_users(tenant_id: str) -> list[dict]:
    users, token = [], None
    while True:
        page = _client().list_users(UserPoolId=_pool(), Limit=60, **({"PaginationToken": token} if token else {}))
        users += [u for u in page.get("Users") or [] if _attributes(u).get(TENANT_ATTRIBUTE) == tenant_id]
        token = page.get("PaginationToken")
        if not token:
            return users


def _user(tenant_id: str, user_id: str) -> dict:
    if not USER_ID.match(user_id):
        raise NotFound("user_id: no such user in this tenant")
    found = _client().list_users(UserPoolId=_pool(), Filter=f'sub = "{user_id}"', Limit=1).get("Users") or []
    if not found or _attributes(found[0]).get(TENANT_ATTRIBUTE) != tenant_id:
        raise NotFound("user_id: no such user in this tenant")
    return found[0]


def list_users(tenant_id: str) -> list[dict]:
    users = _tenant_users(tenant_id)
    return sorted((_view(u, _role_of(u["Username"])) for u in users), key=lambda v: (v["email"] or "", v["user_id"] or ""))


def create_user(tenant_id: str, values: dict) -> dict:
    """Invites a person: Cognito emails them a temporary password (`password`: set a permanent
    one instead, for the local stack's demo users only)."""
    for required in ("email", "role"):
        if required not in values:
            raise InvalidInput(required, "is required")
    address, wanted = email(values["email"]), role(values["role"])
    name = fields.name("name", values["name"]) if values.get("name") is not None else None
    attributes = [{"Name": "email", "Value": address}, {"Name": "email_verified", "Value": "true"},
                  {"Name": TENANT_ATTRIBUTE, "Value": tenant_id}] + ([{"Name": "name", "Value": name}] if name else [])
    client = _client()
    try:
        created = client.admin_create_user(UserPoolId=_pool(), Username=address, UserAttributes=attributes,
                                           DesiredDeliveryMediums=["EMAIL"])["User"]
    except client.exceptions.UsernameExistsException:
        raise Conflict("email: a user with this email already exists", "user_exists") from None
    except client.exceptions.InvalidParameterException as refused:  # the pool's own checks of what was sent
        reason = refused.response.get("Error", {}).get("Message") or "is refused by the user pool"
        raise InvalidInput("email" if "mail" in reason or "Username" in reason else "name", reason) from None
    client.admin_add_user_to_group(UserPoolId=_pool(), Username=created["Username"], GroupName=wanted)
    return _view(created, wanted)


def _enabled_admins(tenant_id: str) -> list[str]:
    admins, token = [], None
    while True:
        page = _client().list_users_in_group(UserPoolId=_pool(), GroupName="admin", Limit=60,
                                             **({"NextToken": token} if token else {}))
        admins += [_attributes(u).get("sub") for u in page.get("Users") or []
                   if _attributes(u).get(TENANT_ATTRIBUTE) == tenant_id and u.get("Enabled", True)]
        token = page.get("NextToken")
        if not token:
            return admins


def update_user(tenant_id: str, user_id: str, values: dict, caller_id: str | None) -> dict:
    """role, enabled, name: all checked before anything changes. The tenant's last enabled admin
    cannot demote or disable themselves (nobody would be left to manage the tenant)."""
    user = _user(tenant_id, user_id)
    wanted = role(values["role"]) if "role" in values else None
    if "enabled" in values and not isinstance(values["enabled"], bool):
        raise InvalidInput("enabled", "must be true or false")
    enabled = values.get("enabled")
    name = fields.name("name", values["name"]) if "name" in values else None
    username, current = user["Username"], _role_of(user["Username"])
    if user_id == caller_id and current == "admin" and (wanted not in (None, "admin") or enabled is False):
        if _enabled_admins(tenant_id) == [user_id]:
            field = "enabled" if enabled is False else "role"
            raise InvalidInput(field, "the tenant's last enabled admin cannot demote or disable themselves")
    client, pool = _client(), _pool()
    if name is not None:
        client.admin_update_user_attributes(UserPoolId=pool, Username=username, UserAttributes=[{"Name": "name", "Value": name}])
    if wanted is not None and wanted != current:
        client.admin_add_user_to_group(UserPoolId=pool, Username=username, GroupName=wanted)
        if current is not None:
            client.admin_remove_user_from_group(UserPoolId=pool, Username=username, GroupName=current)
        current = wanted
    if enabled is False and user.get("Enabled", True):
        client.admin_disable_user(UserPoolId=pool, Username=username)
        client.admin_user_global_sign_out(UserPoolId=pool, Username=username)  # refresh tokens revoked
    elif enabled is True and not user.get("Enabled", True):
        client.admin_enable_user(UserPoolId=pool, Username=username)
    return _view(_user(tenant_id, user_id), current)


# ---------------------------------------------------------------- single sign-on (the pre sign-up trigger)

class NotAdmitted(Exception):
    """A first sign-in through the OIDC provider refused: the message the sign-in page shows,
    `<reason>: <words>`; the console says it in the person's language from its reason."""

    def __init__(self, reason: str, words: str):
        super().__init__(f"{reason}: {words}")
        self.reason = reason


INVITATION = "ask an admin of your company to invite you (Users screen), then sign in again"


def link_invited(pool_id: str, provider: str, subject: str, address, verified) -> str:
    """A person's first sign-in through the deployment's OIDC provider (Entra ID, Google Workspace):
    Cognito is about to create a user of its own for them, without a tenant. Only a person an admin
    has invited is let in: the one user of the pool with that email (invited by POST /v1/users, of
    one tenant, enabled) gets the provider's identity linked to it, so each later sign-in through
    the provider is that user, with their tenant and role. Answers that user's name in the pool.
    Anyone else is refused (`NotAdmitted`): nobody invited, an email the provider says it has not
    verified, a disabled user, or two users of that email (the pool keeps emails unique; were two
    ever found, guessing one tenant would be worse than refusing)."""
    if verified in (False, "false"):
        raise NotAdmitted("unverified", "your email address is not verified by your company's sign-in; " + INVITATION)
    if not isinstance(address, str) or not EMAIL.match(address.strip()):
        raise NotAdmitted("no_email", "your company's sign-in sent no usable email address; " + INVITATION)
    address = address.strip().lower()
    client = _client()
    found = client.list_users(UserPoolId=pool_id, Filter=f'email = "{address}"', Limit=60).get("Users") or []
    invited = [u for u in found if u.get("UserStatus") != "EXTERNAL_PROVIDER" and _attributes(u).get(TENANT_ATTRIBUTE)]
    if not invited:
        raise NotAdmitted("not_invited", f"{address} has not been invited; " + INVITATION)
    if len(invited) > 1:
        raise NotAdmitted("ambiguous", f"{address} belongs to more than one invitation; ask an admin to keep only one")
    (user,) = invited
    if not user.get("Enabled", True):
        raise NotAdmitted("disabled", f"{address} has been disabled by an admin of your company")
    client.admin_link_provider_for_user(
        UserPoolId=pool_id, DestinationUser={"ProviderName": "Cognito", "ProviderAttributeValue": user["Username"]},
        SourceUser={"ProviderName": provider, "ProviderAttributeName": "Cognito_Subject", "ProviderAttributeValue": subject})
    return user["Username"]
