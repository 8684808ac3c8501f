"""GET /v1/me — who the bearer token is (tenant and role), so a console shows only what it may do."""
from billing_core import api
from billing_core.api import ROLES


@api.route(*ROLES)
def whoami(request: api.Request) -> dict:
    role, _, token_id = request.actor.partition(":")
    return {"tenant_id": request.tenant_id, "role": role, "token_id": token_id}


lambda_handler = api.handler(whoami)
