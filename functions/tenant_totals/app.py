"""GET /v1/totals — the tenant overview: one row per group for a period (monthly invoicing run)."""
from billing_core import api, reporting
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN)
def tenant_totals(request: api.Request) -> dict:
    return reporting.tenant_overview(request.tenant_id, request.query)


lambda_handler = api.handler(tenant_totals)
