"""GET /v1/groups/{group_id}/totals — accounted and to-account time and cost, and the balance."""
from billing_core import api, reporting
from billing_core.api import STAFF


@api.route(*STAFF)
def totals(request: api.Request) -> dict:
    return reporting.totals(request.tenant_id, request.path_id("group_id"), request.query)


lambda_handler = api.handler(totals)
