"""GET /v1/groups/{group_id}/contracts and GET /v1/groups/{group_id}/ledger — a client's
contracts, newest first, and a contract's balance ledger with its running balance."""
from billing_core import api, contracts
from billing_core.api import STAFF


@api.route(*STAFF)
def list_contracts(request: api.Request) -> dict:
    request.no_query()
    return contracts.list_contracts(request.tenant_id, request.path_id("group_id"))


@api.route(*STAFF)
def ledger(request: api.Request) -> dict:
    return contracts.ledger_view(request.tenant_id, request.path_id("group_id"), request.query)


lambda_handler = api.handler(routes={
    "GET /v1/groups/{group_id}/contracts": list_contracts,
    "GET /v1/groups/{group_id}/ledger": ledger,
})
