"""GET /v1/events?after=&limit= — the tenant's business events (balance thresholds crossed), oldest first."""
from billing_core import api, events
from billing_core.api import ADMIN, FINANCE


@api.route(ADMIN, FINANCE)
def list_events(request: api.Request) -> dict:
    return events.list_events(request.tenant_id, request.query)


lambda_handler = api.handler(list_events)
