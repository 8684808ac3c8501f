"""GET /v1/tokens, POST /v1/tokens {role, label}, DELETE /v1/tokens/{token_id} — the tenant's API
tokens, for admins. A new token is answered once; only its SHA-256 is stored."""
from billing_core import api, fields, tenants
from billing_core.api import ADMIN
from billing_core.errors import InvalidInput


@api.route(ADMIN)
def list_tokens(request: api.Request) -> dict:
    request.no_query()
    return {"tokens": tenants.list_tokens(request.tenant_id)}


@api.route(ADMIN)
def issue_token(request: api.Request) -> api.Response:
    values = request.body({"role", "label"})
    for required in ("role", "label"):
        if required not in values:
            raise InvalidInput(required, "is required")
    if not isinstance(values["role"], str):
        raise InvalidInput("role", f"must be one of {', '.join(tenants.ROLES)}")
    label = fields.name("label", values["label"])  # who holds it, for the audit: required here (null too is refused)
    issued = tenants.issue_token(request.tenant_id, values["role"], label)
    issued.pop("tenant_id")
    return api.Response(201, issued)


@api.route(ADMIN)
def revoke_token(request: api.Request) -> dict:
    return tenants.revoke_token(request.tenant_id, request.path_id("token_id"))


lambda_handler = api.handler(routes={
    "GET /v1/tokens": list_tokens,
    "POST /v1/tokens": issue_token,
    "DELETE /v1/tokens/{token_id}": revoke_token,
})
