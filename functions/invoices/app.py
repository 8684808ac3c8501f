"""GET /v1/invoices?month=&status=, GET /v1/invoices/{invoice_id}. Each names who issued it (and
who voided it) as `{kind: user|token, id, name}`, a token by its label."""
from billing_core import api, invoices
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN)
def list_invoices(request: api.Request) -> dict:
    answer = invoices.list_invoices(request.tenant_id, request.query)
    invoices.name_tokens(request.tenant_id, answer["invoices"])
    return answer


@api.route(FINANCE, ADMIN)
def get_invoice(request: api.Request) -> dict:
    request.no_query()
    return invoices.name_tokens(request.tenant_id, [invoices.get_invoice(request.tenant_id, request.path_id("invoice_id"))])[0]


lambda_handler = api.handler(routes={
    "GET /v1/invoices": list_invoices,
    "GET /v1/invoices/{invoice_id}": get_invoice,
})
