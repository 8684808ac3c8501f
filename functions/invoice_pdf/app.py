"""GET /v1/invoices/{invoice_id}/pdf — a link to the invoice's Factur-X PDF (EN 16931 XML embedded)."""
from billing_core import api, invoice_documents
from billing_core.api import ADMIN, FINANCE


@api.route(FINANCE, ADMIN)
def pdf(request: api.Request) -> dict:
    request.no_query()
    return invoice_documents.pdf_link(request.tenant_id, request.path_id("invoice_id"))


lambda_handler = api.handler(pdf)
