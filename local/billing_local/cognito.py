"""The staff user pool in the embedded AWS (moto's cognito-idp), made from template.yaml, and the
check API Gateway's JWT authorizer makes of its access tokens.

- `create_pool` makes the pool, its groups and the console's app client as the template declares
  them (the same password policy, schema, token lifetimes).
- `token_trigger` makes moto do what Cognito does and moto does not: run the pool's pre token
  generation trigger (the template's function, as its own invocation: its IAM policy and Timeout)
  before it issues an access token, applying the claims and groups it answers; give the access
  token the lifetime its app client declares (moto's is always an hour); and sign a user out of
  every session whatever name they signed in with (moto revokes only the refresh tokens of
  sessions opened with the very name given to AdminUserGlobalSignOut: a user signed in with their
  email kept refreshing after a sign-out by their user name).
- `JwtAuthorizer.check` verifies a bearer token as the HTTP API's JWT authorizer does: the key
  named by its `kid` from the pool's JWKS (served by the embedded AWS at the pool's jwks_uri), an
  RSA algorithm and its signature, `iss`, `aud` (else `client_id`) among the audience, `exp` and
  `nbf`, then the route's scopes. Any failure is a 401, a missing scope a 403, before any function
  runs. moto signs every pool's tokens with one key of its own, so a token of another pool is
  refused by its `iss`, as AWS refuses it by `iss` and key.

State of the pool lives in memory only (the embedded AWS journals DynamoDB and S3): a restart of
`make run` makes the pool again, with new ids, and the demo users again with their passwords."""
import base64
import json
import os
import time
import urllib.request
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from . import template

REGION_DEFAULT = "us-east-1"
_UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}


class Refused(Exception):
    def __init__(self, status: int, error: str, description: str):
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


# ---------------------------------------------------------------- the pool, as the template declares it


POOL_KEYS = ("Policies", "AutoVerifiedAttributes", "UsernameAttributes", "UsernameConfiguration", "MfaConfiguration",
             "AdminCreateUserConfig", "Schema", "AccountRecoverySetting", "DeletionProtection")
CLIENT_KEYS = ("GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors", "EnableTokenRevocation",
               "AccessTokenValidity", "IdTokenValidity", "RefreshTokenValidity", "TokenValidityUnits",
               "ReadAttributes", "WriteAttributes")


def create_pool(client, region: str = REGION_DEFAULT) -> dict:
    """Makes the user pool, its groups and app clients; answers {user_pool_id, client_id, region}
    and sets USER_POOL_ID (what the users function reads, and its policy's resource)."""
    logical, props = template.user_pool()
    kwargs = {key: props[key] for key in POOL_KEYS if key in props}
    pool = client.create_user_pool(PoolName=f"billing-local-{logical}", **kwargs)["UserPool"]
    for group in template.user_pool_groups():
        client.create_group(UserPoolId=pool["Id"], GroupName=group)
    ids = {logical: pool["Id"]}
    for name, client_props in template.user_pool_clients().items():
        made = client.create_user_pool_client(UserPoolId=pool["Id"], ClientName=client_props.get("ClientName", name),
                                              **{k: client_props[k] for k in CLIENT_KEYS if k in client_props})
        ids[name] = made["UserPoolClient"]["ClientId"]
    os.environ["USER_POOL_ID"] = pool["Id"]
    PHYSICAL.clear()
    PHYSICAL.update(ids)
    (console,) = template.jwt_authorizer()["audience"][:1]
    return {"user_pool_id": pool["Id"], "client_id": ids[console], "region": region}


PHYSICAL: dict[str, str] = {}  # logical id → id in the embedded AWS (the pool, its clients)


def add_user(client, pool_id: str, tenant_id: str, role: str, email: str, password: str, name: str | None = None) -> str:
    """A user who signs in at once with `password` (the demo users; a real one is invited by POST
    /v1/users and chooses a password). Answers the user's id (`sub`)."""
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                  {"Name": "custom:tenant_id", "Value": tenant_id}] + ([{"Name": "name", "Value": name}] if name else [])
    user = client.admin_create_user(UserPoolId=pool_id, Username=email, UserAttributes=attributes, MessageAction="SUPPRESS")
    client.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    client.admin_add_user_to_group(UserPoolId=pool_id, Username=email, GroupName=role)
    return next(a["Value"] for a in user["User"]["Attributes"] if a["Name"] == "sub")


def sign_in(client, client_id: str, email: str, password: str) -> dict:
    """InitiateAuth USER_PASSWORD_AUTH, as the console does: the AuthenticationResult."""
    return client.initiate_auth(ClientId=client_id, AuthFlow="USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": email, "PASSWORD": password})["AuthenticationResult"]


# ---------------------------------------------------------------- what Cognito does before it issues tokens

# The scopes of the access tokens issued now: a password sign-in's, or what a sign-in through the
# managed sign-in domain was granted (billing_local.signin_domain).
SCOPES: ContextVar[str] = ContextVar("scopes", default="aws.cognito.signin.user.admin")


@contextmanager
def granted(scopes: str):
    reset = SCOPES.set(scopes)
    try:
        yield
    finally:
        SCOPES.reset(reset)


def _trigger_event(pool, user, client_id: str, groups: list[str]) -> dict:
    return {
        "version": "2", "triggerSource": "TokenGeneration_Authentication", "region": pool.region,
        "userPoolId": pool.id, "userName": user.username,
        "callerContext": {"awsSdkVersion": "local", "clientId": client_id},
        "request": {"userAttributes": {a["Name"]: a["Value"] for a in user.attributes},
                    "groupConfiguration": {"groupsToOverride": list(groups), "iamRolesToOverride": [], "preferredRole": None},
                    "scopes": SCOPES.get().split()},
        "response": {"claimsAndScopeOverrideDetails": None},
    }


def _lifetime(pool, client_id: str) -> int:
    config = pool.clients[client_id].extended_config if client_id in pool.clients else {}
    validity = config.get("AccessTokenValidity")
    unit = (config.get("TokenValidityUnits") or {}).get("AccessToken", "hours")
    return int(validity) * _UNITS.get(unit, 3600) if validity else 3600


@contextmanager
def token_trigger():
    """moto's access tokens as Cognito issues them for this pool: its trigger run, its lifetime."""
    from moto.cognitoidp.models import CognitoIdpUserPool

    from . import gateway

    original = CognitoIdpUserPool.create_access_token

    def create_access_token(self, client_id: str, username: str, origin_jti: str):
        user = self._get_user(username)
        groups = [group.group_name for group in user.groups]
        extra = {"origin_jti": origin_jti, "scope": SCOPES.get()}
        function = template.token_trigger_function()
        details = {}
        if function is not None:
            answered = gateway.invoke_function(function, gateway.function_handler(function), _trigger_event(self, user, client_id, groups))
            details = (answered.get("response") or {}).get("claimsAndScopeOverrideDetails") or {}
        extra.update(((details.get("accessTokenGeneration") or {}).get("claimsToAddOrOverride")) or {})
        overridden = (details.get("groupOverrideDetails") or {}).get("groupsToOverride")
        groups = groups if overridden is None else list(overridden)
        if groups:
            extra["cognito:groups"] = groups
        token, expires_in = self.create_jwt(client_id, username, "access", expires_in=_lifetime(self, client_id), extra_data=extra)
        self.access_tokens[token] = (client_id, username)
        return token, expires_in

    original_sign_out = CognitoIdpUserPool.sign_out

    def sign_out(self, username: str) -> None:
        leaving = self._get_user(username)
        names = {username, leaving.username, leaving.id} | {a["Value"] for a in leaving.attributes if a["Name"] == "email"}
        for name in names:
            original_sign_out(self, name)

    CognitoIdpUserPool.create_access_token = create_access_token
    CognitoIdpUserPool.sign_out = sign_out
    try:
        yield
    finally:
        CognitoIdpUserPool.create_access_token = original
        CognitoIdpUserPool.sign_out = original_sign_out


# ---------------------------------------------------------------- what moto does not implement


def link_provider(pool, provider: str, subject: str, destination: str) -> None:
    """AdminLinkProviderForUser as Cognito does it: the provider must be one of the pool's, the
    destination an existing user, and the provider's identity must not have signed in yet (a user
    of its own, `<provider>_<subject>`, refuses the link); the link shows in the destination's
    `identities` attribute."""
    from moto.cognitoidp.exceptions import InvalidParameterException, ResourceNotFoundError, UserNotFoundError

    if provider not in pool.identity_providers:
        raise ResourceNotFoundError(f"Identity provider {provider} does not exist.")
    user = pool._get_user(destination)
    if user is None:
        raise UserNotFoundError("User does not exist.")
    if pool._get_user(f"{provider}_{subject}") is not None:
        raise InvalidParameterException("Merging is not currently supported, provide a SourceUser that has not been used to sign in")
    kind = pool.identity_providers[provider].extended_config.get("ProviderType")
    linked = [i for i in json.loads(next((a["Value"] for a in user.attributes if a["Name"] == "identities"), "[]"))
              if (i["providerName"], i["userId"]) != (provider, subject)]
    linked.append({"userId": subject, "providerName": provider, "providerType": kind, "issuer": None, "primary": False,
                   "dateCreated": int(time.time() * 1000)})
    user.attributes = [a for a in user.attributes if a["Name"] != "identities"] + [{"Name": "identities", "Value": json.dumps(linked)}]


@contextmanager
def linked_providers():
    """moto's cognito-idp answering AdminLinkProviderForUser (the pre sign-up trigger's call)."""
    from moto.cognitoidp.responses import CognitoIdpResponse, EmptyResult

    from moto.cognitoidp.exceptions import InvalidParameterException

    def admin_link_provider_for_user(self):
        source, destination = self._get_param("SourceUser") or {}, self._get_param("DestinationUser") or {}
        if destination.get("ProviderName") != "Cognito" or source.get("ProviderAttributeName") != "Cognito_Subject":
            raise InvalidParameterException("only a Cognito destination and a Cognito_Subject source are emulated")
        pool = self.backend.describe_user_pool(self._get_param("UserPoolId"))
        link_provider(pool, source.get("ProviderName") or "", source.get("ProviderAttributeValue") or "",
                      destination.get("ProviderAttributeValue") or "")
        return EmptyResult()

    CognitoIdpResponse.admin_link_provider_for_user = admin_link_provider_for_user
    try:
        yield
    finally:
        del CognitoIdpResponse.admin_link_provider_for_user


# ---------------------------------------------------------------- API Gateway's JWT authorizer


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@dataclass
class JwtAuthorizer:
    """The staff API's JWT authorizer, resolved against the embedded pool. `clock`: now, in epoch
    seconds (the tests move it to see a token expire)."""

    issuer: str
    audience: tuple[str, ...]
    scopes: tuple[str, ...]
    jwks_uri: str
    clock: object = time.time
    _keys: dict = field(default_factory=dict)

    @classmethod
    def of_template(cls, endpoint_url: str, region: str = REGION_DEFAULT) -> "JwtAuthorizer | None":
        """None while no pool is made (a store without Cognito: every JWT is refused then)."""
        declared = template.jwt_authorizer()
        pool_logical, _ = template.user_pool()
        if pool_logical not in PHYSICAL:
            return None
        pool_id = PHYSICAL[pool_logical]
        issuer = declared["issuer"].replace("${AWS::Region}", region).replace("${" + pool_logical + "}", pool_id)
        audience = tuple(PHYSICAL.get(a, a) for a in declared["audience"])
        return cls(issuer, audience, declared["scopes"], f"{endpoint_url.rstrip('/')}/{pool_id}/.well-known/jwks.json")

    def _key(self, kid: str):
        from joserfc import jwk

        if kid not in self._keys:  # API Gateway fetches the JWKS and keeps it; a key it does not know: fetch again
            with urllib.request.urlopen(self.jwks_uri, timeout=5) as answer:
                for key in json.loads(answer.read())["keys"]:
                    self._keys[key.get("kid")] = jwk.RSAKey.import_key(key)
        if kid not in self._keys:
            raise Refused(401, "invalid_token", "the token's kid is not a key of the issuer")
        return self._keys[kid]

    def check(self, value: str) -> dict:
        """The verified claims, or Refused (401 invalid_token, 403 insufficient_scope)."""
        from joserfc import jwt
        from joserfc.errors import JoseError

        token = value[7:].strip() if value[:7].lower() == "bearer " else value.strip()
        parts = token.split(".")
        if len(parts) != 3:
            raise Refused(401, "invalid_token", "the token is not a JWT")
        try:
            header = json.loads(_b64(parts[0]))
        except ValueError:
            raise Refused(401, "invalid_token", "the token's header cannot be decoded") from None
        algorithm = header.get("alg") if isinstance(header, dict) else None
        if algorithm not in ("RS256", "RS384", "RS512"):  # only RSA algorithms are supported (so never "none")
            raise Refused(401, "invalid_token", "the token's algorithm is not supported")
        key = self._key(str(header.get("kid")))
        try:
            claims = jwt.decode(token, key, algorithms=[algorithm]).claims
        except (JoseError, ValueError):
            raise Refused(401, "invalid_token", "the token's signature is not valid") from None
        now = self.clock()
        if claims.get("iss") != self.issuer:
            raise Refused(401, "invalid_token", "the token does not have a valid issuer")
        audience = claims["aud"] if "aud" in claims else claims.get("client_id")
        audiences = audience if isinstance(audience, list) else [audience]
        if not any(a in self.audience for a in audiences):
            raise Refused(401, "invalid_token", "the token does not have a valid audience")
        if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] <= now:
            raise Refused(401, "invalid_token", "the token has expired")
        if isinstance(claims.get("nbf"), (int, float)) and claims["nbf"] > now:
            raise Refused(401, "invalid_token", "the token is not valid yet")
        granted = str(claims.get("scope") or claims.get("scp") or "").split()
        if self.scopes and not set(granted) & set(self.scopes):
            raise Refused(403, "insufficient_scope", f"the token holds none of the scopes {list(self.scopes)}")
        return claims


def context_claims(claims: dict) -> dict:
    """Claims as the HTTP API hands them to a function: each value a string, a list as `[a b]`."""
    return {name: "[" + " ".join(map(str, value)) + "]" if isinstance(value, list) else str(value)
            for name, value in claims.items()}
