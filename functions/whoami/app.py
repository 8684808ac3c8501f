"""GET /v1/me — who the bearer token is (tenant and role, and their names), so a console shows only
what it may do and whose console it is, and the tenant's time zone (its dates are written there)."""
from billing_core import api, invoice_settings, tenants
from billing_core.api import ROLES


@api.route(*ROLES)
def whoami(request: api.Request) -> dict:
    role, _, token_id = request.actor.partition(":")
    token = tenants.token_record(request.tenant_id, token_id)
    return {"tenant_id": request.tenant_id, "tenant_name": tenants.tenant_name(request.tenant_id),
            "role": role, "token_id": token_id, "label": token.label if token else None,
            "time_zone": invoice_settings.time_zone(request.tenant_id)}


lambda_handler = api.handler(whoami)
