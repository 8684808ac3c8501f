"""Tenants (MSPs) and their API tokens. A token is 32 random bytes shown once; only its SHA-256
is stored, so a leaked table leaks no token. The token alone decides tenant and role."""
import hashlib
import secrets

from pynamodb.exceptions import DoesNotExist, PutError

from . import fields
from .dal import models
from .errors import Conflict, InvalidInput, NotFound
from .dal.models import ApiToken, Tenant, keys

ROLES = ("admin", "technician", "finance", "agent")
TOKEN_PREFIX = "rsa_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_tenant(name: str, tenant_id: str | None = None) -> dict:
    tenant_id = tenant_id or f"t_{secrets.token_hex(8)}"
    if not tenant_id.replace("_", "").replace("-", "").isalnum() or len(tenant_id) > 64:
        raise InvalidInput("tenant_id", "must be letters, digits, '-' or '_' (at most 64)")
    models.bind()
    tenant = Tenant(keys.tenant(tenant_id), "TENANT", tenant_id=tenant_id, name=fields.name("name", name), created_at=fields.utc_now())
    try:
        tenant.save(condition=Tenant.PK.does_not_exist())
    except PutError as error:
        if error.cause_response_code == "ConditionalCheckFailedException":
            raise Conflict(f"tenant {tenant_id} already exists", "tenant_exists") from None
        raise
    return {"tenant_id": tenant_id, "name": tenant.name}


def _tenant(tenant_id: str) -> Tenant:
    models.bind()
    try:
        return Tenant.get(keys.tenant(tenant_id), "TENANT")
    except DoesNotExist:
        raise NotFound(f"tenant {tenant_id} not found") from None


def issue_token(tenant_id: str, role: str, label: str | None = None) -> dict:
    """Answers the token once; it cannot be read back."""
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    if label is not None:
        label = fields.name("label", label)
    _tenant(tenant_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_id = f"tok_{secrets.token_hex(6)}"
    record = ApiToken(
        keys.token(token_hash(token)), "TOKEN",
        GSI1PK=keys.tokens(tenant_id), GSI1SK=token_id,
        token_id=token_id, tenant_id=tenant_id, role=role, label=label, created_at=fields.utc_now(),
    )
    record.save(condition=ApiToken.PK.does_not_exist())
    return {"token_id": token_id, "tenant_id": tenant_id, "role": role, "label": label,
            "created_at": fields.utc_text(record.created_at), "token": token}


def token_view(record: ApiToken) -> dict:
    return {
        "token_id": record.token_id,
        "role": record.role,
        "label": record.label,
        "created_at": fields.utc_text(record.created_at),
        "revoked_at": fields.utc_text(record.revoked_at) if record.revoked_at else None,
    }


def list_tokens(tenant_id: str) -> list[dict]:
    _tenant(tenant_id)
    return [token_view(record) for record in ApiToken.gsi1.query(keys.tokens(tenant_id))]


def token_labels(tenant_id: str) -> dict[str, str | None]:
    """token_id → label of every token of the tenant (one Query), so an audit names people, not ids."""
    models.bind()
    return {record.token_id: record.label for record in ApiToken.gsi1.query(keys.tokens(tenant_id))}


def token_record(tenant_id: str, token_id: str) -> ApiToken | None:
    models.bind()
    for record in ApiToken.gsi1.query(keys.tokens(tenant_id), ApiToken.GSI1SK == token_id):
        return record
    return None


def tenant_name(tenant_id: str) -> str:
    return _tenant(tenant_id).name


def revoke_token(tenant_id: str, token_id: str) -> dict:
    models.bind()
    for record in ApiToken.gsi1.query(keys.tokens(tenant_id), ApiToken.GSI1SK == token_id):
        if record.revoked_at is None:
            record.update(actions=[ApiToken.revoked_at.set(fields.utc_now())])
        return token_view(record)
    raise NotFound(f"token {token_id} not found")


def resolve(token: str) -> tuple[ApiToken | None, str]:
    """The token's record and "" when it is valid, else None and why (for the authorizer)."""
    if not token:
        return None, "missing_token"
    if len(token) > 512:
        return None, "unknown_token"
    models.bind()
    try:
        record = ApiToken.get(keys.token(token_hash(token)), "TOKEN")
    except DoesNotExist:
        return None, "unknown_token"
    if record.revoked_at is not None:
        return None, "revoked_token"
    return record, ""
