"""POST /v1/groups/{group_id}/recharges — add hours and an amount to a subscription balance."""
from billing_core import api, contracts
from billing_core.api import ADMIN


@api.route(ADMIN, idempotent=True, status=201)
def recharge(request: api.Request) -> api.Response:
    values = request.body({"hours", "amount", "expires_at"})
    group_id = request.path_id("group_id")
    return api.Response(201, contracts.recharge(request.tenant_id, group_id, values, request.actor, request.claim))


lambda_handler = api.handler(recharge)
