"""GET /v1/groups/{group_id}/contracts and GET /v1/groups/{group_id}/ledger — a client's
contracts, newest first, and a contract's balance ledger with its running balance; each entry
names its actor `{kind: user|token, id, name}` (a token by its label)."""
from billing_core import actors, api, contracts, tenants
from billing_core.api import STAFF


@api.route(*STAFF)
def list_contracts(request: api.Request) -> dict:
    request.no_query()
    return contracts.list_contracts(request.tenant_id, request.path_id("group_id"))


@api.route(*STAFF)
def ledger(request: api.Request) -> dict:
    answer = contracts.ledger_view(request.tenant_id, request.path_id("group_id"), request.query)
    actors.name_tokens(answer["entries"], lambda: tenants.token_labels(request.tenant_id))
    return answer


lambda_handler = api.handler(routes={
    "GET /v1/groups/{group_id}/contracts": list_contracts,
    "GET /v1/groups/{group_id}/ledger": ledger,
})
