"""GET /v1/invoices/{id}/pdf: the issued invoice's (or credit note's) Factur-X PDF, written to S3
once (an issued invoice never changes, so its document never does) and answered as a link that
expires."""
from . import settings
from .errors import Conflict
from .invoices import _found, document_inputs

LINK_SECONDS = 900


def _key(tenant_id: str, invoice_id: str) -> str:
    return f"tenants/{tenant_id}/invoices/{invoice_id}.pdf"


def pdf_link(tenant_id: str, invoice_id: str) -> dict:
    invoice, billing, issuer, client = document_inputs(tenant_id, invoice_id)
    if invoice["number"] is None:
        raise Conflict(f"invoice {invoice_id} is a draft: it has no number and no document until it is issued", "invoice_draft")
    from .files import s3  # the S3 client and links: loaded on the first request, not at a cold start

    client_s3 = s3.s3_client()
    key = _key(tenant_id, invoice["invoice_id"])
    try:
        client_s3.head_object(Bucket=settings.exports_bucket(), Key=key)
    except client_s3.exceptions.ClientError:
        from . import documents  # lazily: fpdf2, pypdf and lxml only here

        credited = None
        if invoice.get("credit_note_of"):
            credited = _found(tenant_id, invoice["credit_note_of"]).number
        pdf, _ = documents.render(invoice, billing, issuer, client, credited)
        client_s3.put_object(Bucket=settings.exports_bucket(), Key=key, Body=pdf, ContentType="application/pdf")
    link = s3.link(client_s3, invoice["invoice_id"], key, LINK_SECONDS, f"{invoice['number']}.pdf")
    return {"invoice_id": invoice["invoice_id"], "number": invoice["number"], **link}


