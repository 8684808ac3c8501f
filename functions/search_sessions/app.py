"""GET /v1/groups/{group_id}/sessions — a client's sessions in a period, oldest first, paged."""
from billing_core import api, reporting
from billing_core.api import STAFF


@api.route(*STAFF)
def search_sessions(request: api.Request) -> dict:
    return reporting.search_sessions(request.tenant_id, request.path_id("group_id"), request.query)


lambda_handler = api.handler(search_sessions)
