"""POST /v1/invoices/{invoice_id}/void — a numbered credit note; the events go back to the next run.
The voided invoice names who voided it (`voided_by`), the credit note the same person as `issued_by`."""
from billing_core import api, invoices
from billing_core.api import ADMIN


@api.route(ADMIN, idempotent=True)
def void(request: api.Request) -> dict:
    if request.raw_body and request.raw_body.strip():
        request.body(())  # it takes no fields: refuse any, by name
    return invoices.void(request.tenant_id, request.path_id("invoice_id"), request.actor, request.claim)


lambda_handler = api.handler(void)
