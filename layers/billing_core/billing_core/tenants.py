"""Tenants (MSPs) and their API tokens. A token is 32 random bytes shown once; only its SHA-256
is stored, so a leaked table leaks no token. The token alone decides tenant and role."""
import hashlib
import secrets

from . import fields
from .dal import tokens as stored
from .dal.tokens import TenantExists, Token
from .errors import Conflict, InvalidInput, NotFound

ROLES = ("admin", "technician", "finance", "agent")
TOKEN_PREFIX = "rsa_"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_tenant(name: str, tenant_id: str | None = None) -> dict:
    tenant_id = tenant_id or f"t_{secrets.token_hex(8)}"
    if not tenant_id.replace("_", "").replace("-", "").isalnum() or len(tenant_id) > 64:
        raise InvalidInput("tenant_id", "must be letters, digits, '-' or '_' (at most 64)")
    name = fields.name("name", name)
    if isinstance(stored.put_tenant(tenant_id, name), TenantExists):
        raise Conflict(f"tenant {tenant_id} already exists", "tenant_exists")
    return {"tenant_id": tenant_id, "name": name}


def tenant_name(tenant_id: str) -> str:
    name = stored.tenant_name(tenant_id)
    if name is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return name


def issue_token(tenant_id: str, role: str, label: str | None = None) -> dict:
    """Answers the token once; it cannot be read back."""
    if role not in ROLES:
        raise InvalidInput("role", f"must be one of {', '.join(ROLES)}")
    if label is not None:
        label = fields.name("label", label)
    tenant_name(tenant_id)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    record = stored.put_token(tenant_id, token_hash(token), f"tok_{secrets.token_hex(6)}", role, label)
    return {"token_id": record.token_id, "tenant_id": tenant_id, "role": role, "label": label,
            "created_at": fields.utc_text(record.created_at), "token": token}


def token_view(record: Token) -> dict:
    return {
        "token_id": record.token_id,
        "role": record.role,
        "label": record.label,
        "created_at": fields.utc_text(record.created_at),
        "revoked_at": fields.utc_text(record.revoked_at) if record.revoked_at else None,
    }


def list_tokens(tenant_id: str) -> list[dict]:
    tenant_name(tenant_id)
    return [token_view(record) for record in stored.tokens_of(tenant_id)]


def token_labels(tenant_id: str) -> dict[str, str | None]:
    """token_id → label of every token of the tenant (one Query), so an audit names people, not ids."""
    return {record.token_id: record.label for record in stored.tokens_of(tenant_id)}


def token_record(tenant_id: str, token_id: str) -> Token | None:
    return stored.token_of(tenant_id, token_id)


def revoke_token(tenant_id: str, token_id: str) -> dict:
    record = stored.revoke(tenant_id, token_id)
    if record is None:
        raise NotFound(f"token {token_id} not found")
    return token_view(record)


def resolve(token: str) -> tuple[Token | None, str]:
    """The token's record and "" when it is valid, else None and why (for the authorizer). A
    store that stays unavailable raises: the authorizer must not answer a verdict then."""
    if not token:
        return None, "missing_token"
    if len(token) > 512:
        return None, "unknown_token"
    record = stored.token_by_hash(token_hash(token))
    if record is None:
        return None, "unknown_token"
    if record.revoked_at is not None:
        return None, "revoked_token"
    return record, ""
