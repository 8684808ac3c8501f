"""GET /v1/me — who the caller is (tenant and role, and their names), so a console shows only what
it may do and whose console it is: a person signed in with the user pool, or an API token; and the
tenant's time zone (its dates are written there)."""
from billing_core import actors, api, invoice_settings, tenants
from billing_core.api import ROLES


@api.route(*ROLES)
def whoami(request: api.Request) -> dict:
    caller = request.caller
    answer = {"tenant_id": request.tenant_id, "tenant_name": tenants.tenant_name(request.tenant_id), "role": request.role,
              "time_zone": invoice_settings.time_zone(request.tenant_id)}
    if caller.kind == actors.USER:
        return {**answer, "actor": caller.view(), "token_id": None, "label": None}
    token = tenants.token_record(request.tenant_id, caller.id)
    label = token.label if token else None
    return {**answer, "actor": {**caller.view(), "name": label}, "token_id": caller.id, "label": label}


lambda_handler = api.handler(whoami)
