"""GET /v1/invoices?month=&status=, GET /v1/invoices/{invoice_id}."""
from billing_core import api, invoices
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN)
def list_invoices(request: api.Request) -> dict:
    return invoices.list_invoices(request.tenant_id, request.query)


@api.route(FINANCE, ADMIN)
def get_invoice(request: api.Request) -> dict:
    request.no_query()
    return invoices.get_invoice(request.tenant_id, request.path_id("invoice_id"))


lambda_handler = api.handler(routes={
    "GET /v1/invoices": list_invoices,
    "GET /v1/invoices/{invoice_id}": get_invoice,
})
