"""The HTTP API's Lambda authorizer: bearer token → SHA-256 → tenant and role.

It resolves identity and always lets the request through with its verdict in the context, so the
handler answers 401 in the product's error shape (API Gateway's own 401/403 bodies cannot be
shaped); no handler does anything for a caller without a valid tenant and role.

API Gateway keeps a verdict for AuthorizerCacheSeconds per Authorization header. The look-up is
a consistent read (a token issued a moment ago is found, never refused for the cache's lifetime),
retried while the store throttles or fails within this function's time; one that still fails
raises (API Gateway answers 500 and caches nothing) instead of answering a verdict that would
refuse the token for the cache's lifetime."""
from billing_core import deadline, observability, tenants


def _bearer(event: dict) -> str:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@observability.entry_point
def lambda_handler(event: dict, context=None) -> dict:
    started = deadline.start(context)
    try:
        record, denied = tenants.resolve(_bearer(event))
    finally:
        deadline.stop(started)
    if record is None:
        observability.count("TokensRefused")
        return {"isAuthorized": True, "context": {"tenant_id": "", "role": "", "token_id": "", "denied": denied}}
    return {
        "isAuthorized": True,
        "context": {"tenant_id": record.tenant_id, "role": record.role, "token_id": record.token_id, "denied": ""},
    }
