"""POST /v1/invoices/{invoice_id}/issue — the next number, the events marked invoiced, the invoice frozen,
naming who issued it (`issued_by`: a token by its id here, by its label where invoices are read)."""
from billing_core import api, invoices
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN, idempotent=True)
def issue(request: api.Request) -> dict:
    if request.raw_body and request.raw_body.strip():
        request.body(())  # it takes no fields: refuse any, by name
    return invoices.issue(request.tenant_id, request.path_id("invoice_id"), request.actor, request.claim)


lambda_handler = api.handler(issue)
