"""POST /v1/groups/{group_id}/recharges — add hours and an amount to a subscription balance."""
from billing_core import address_book, api
from billing_core.api import ADMIN


@api.route(ADMIN)
def recharge(request: api.Request) -> api.Response:
    values = request.body({"hours", "amount"})
    return api.Response(201, address_book.recharge(request.tenant_id, request.path_id("group_id"), values, request.actor))


lambda_handler = api.handler(recharge)
