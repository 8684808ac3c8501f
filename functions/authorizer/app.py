"""The HTTP API's Lambda authorizer: bearer token → SHA-256 → tenant and role.

It resolves identity and always lets the request through with its verdict in the context, so the
handler answers 401 in the product's error shape (API Gateway's own 401/403 bodies cannot be
shaped); no handler does anything for a caller without a valid tenant and role."""
from billing_core import tenants
from billing_core.api import logger


def _bearer(event: dict) -> str:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    value = headers.get("authorization") or ""
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def lambda_handler(event: dict, context=None) -> dict:
    try:
        record, denied = tenants.resolve(_bearer(event))
    except Exception:
        logger.exception("token look-up failed")
        record, denied = None, "lookup_failed"
    if record is None:
        return {"isAuthorized": True, "context": {"tenant_id": "", "role": "", "token_id": "", "denied": denied}}
    return {
        "isAuthorized": True,
        "context": {"tenant_id": record.tenant_id, "role": record.role, "token_id": record.token_id, "denied": ""},
    }
