"""Tenants and their API tokens in the table. A token's item is keyed by the SHA-256 of the token
(`TOKEN#<hash>`, what the authorizer reads, strongly consistent: a token just issued is found),
and listed per tenant in GSI1 (`T#<tenant>#TOKENS`, the token id), read once settled (dal.listings). Every read and write goes
through the store's retries, so a throttle is waited out within the function's time.

Outcomes: `put_tenant` answers `TenantExists`; a look-up answers a `Token` or None."""
from dataclasses import dataclass
from datetime import datetime

from .. import fields
from . import listings, store
from .models import ApiToken, Tenant, keys


@dataclass(frozen=True)
class Token:
    token_id: str
    tenant_id: str
    role: str
    label: str | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class TenantExists:
    tenant_id: str


def _token(record: ApiToken) -> Token:
    return Token(record.token_id, record.tenant_id, record.role, record.label, record.created_at, record.revoked_at)


def put_tenant(tenant_id: str, name: str) -> str | TenantExists:
    tenant = Tenant(keys.tenant(tenant_id), "TENANT", tenant_id=tenant_id, name=name, created_at=fields.utc_now())
    try:
        store.transact(lambda t: t.save(tenant, condition=Tenant.PK.does_not_exist()), "the tenant")
    except store.ConditionFailed:
        return TenantExists(tenant_id)
    return tenant_id


def tenant_name(tenant_id: str) -> str | None:
    tenant = store.get(Tenant, keys.tenant(tenant_id), "TENANT")
    return tenant.name if tenant is not None else None


def put_token(tenant_id: str, token_hash: str, token_id: str, role: str, label: str | None) -> Token:
    record = ApiToken(keys.token(token_hash), "TOKEN", GSI1PK=keys.tokens(tenant_id), GSI1SK=token_id,
                      token_id=token_id, tenant_id=tenant_id, role=role, label=label, created_at=fields.utc_now())
    listings.transact(lambda transaction: transaction.save(record, condition=ApiToken.PK.does_not_exist()),
                      "the token", keys.tokens(tenant_id))
    return _token(record)


def token_by_hash(token_hash: str) -> Token | None:
    """The authorizer's look-up: one consistent GetItem, retried while the store is busy (a
    failure that outlasts the retries raises: never read as an unknown token)."""
    record = store.get(ApiToken, keys.token(token_hash), "TOKEN")
    return _token(record) if record is not None else None


def _records(tenant_id: str, token_id: str | None = None):
    condition = {"range_key_condition": ApiToken.GSI1SK == token_id} if token_id is not None else {}
    listings.settled(keys.tokens(tenant_id))
    return store.read(lambda: list(store.query(ApiToken, keys.tokens(tenant_id), index="gsi1", **condition)), "the tokens")


def tokens_of(tenant_id: str) -> list[Token]:
    return [_token(record) for record in _records(tenant_id)]


def token_of(tenant_id: str, token_id: str) -> Token | None:
    for record in _records(tenant_id, token_id):
        return _token(record)
    return None


def revoke(tenant_id: str, token_id: str) -> Token | None:
    """Revokes the token (at once: the authorizer reads it consistently); None if unknown. The
    index finds the token's item; the update is conditioned on it not being revoked yet, and a
    token revoked meanwhile is answered as it is stored."""
    listed = _records(tenant_id, token_id)
    if not listed:
        return None
    record = listed[0]
    if record.revoked_at is None:
        at = fields.utc_now()
        try:
            listings.transact(lambda transaction: transaction.update(
                record, actions=[ApiToken.revoked_at.set(at)], condition=ApiToken.revoked_at.does_not_exist(),
                return_values="ALL_OLD"), "the revocation", keys.tokens(tenant_id))
            record.revoked_at = at
        except store.ConditionFailed as failed:
            record = failed.item(0) or record
    return _token(record)
