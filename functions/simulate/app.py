"""POST /v1/groups/{group_id}/simulate — a period's totals under another profile, beside the current ones; changes nothing."""
from billing_core import api, reporting
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN)
def simulate(request: api.Request) -> dict:
    return reporting.simulate(request.tenant_id, request.path_id("group_id"), request.body(reporting.SIMULATE_FIELDS))


lambda_handler = api.handler(simulate)
