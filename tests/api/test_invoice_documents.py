"""An issued invoice's PDF: in the client's language, a Factur-X e-invoice (PDF/A-3 with the EN 16931
XML embedded as factur-x.xml) whose XML passes the schema and the business rules; a rendered page."""
import io
import os
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest
from pypdf import PdfReader

from invoicing.einvoice import business_rule_failures, schema_valid, schematron_failures

from .conftest import assert_error
from .test_invoices import invoicing, run  # noqa: F401  (the fixture: a French client's March)

PAGES = Path(os.environ.get("INVOICE_PAGES_DIR", "/tmp/invoice-pages"))


def issued_pdf(tenant, path: str = "") -> tuple[dict, bytes]:
    (draft,) = run(tenant)["invoices"]
    status, issued = tenant.finance.post(f"/v1/invoices/{draft['invoice_id']}/issue")
    assert status == 200, issued
    return issued, fetch_pdf(tenant, issued["invoice_id"])


def fetch_pdf(tenant, invoice_id: str) -> bytes:
    status, link = tenant.finance.get(f"/v1/invoices/{invoice_id}/pdf")
    assert status == 200, link
    assert link["file_name"].endswith(".pdf") and "url" in link and link["expires_at"]
    return boto3.client("s3").get_object(Bucket=os.environ["EXPORTS_BUCKET"], Key=link["key"])["Body"].read()


def embedded_xml(pdf: bytes) -> bytes:
    reader = PdfReader(io.BytesIO(pdf))
    attachments = reader.attachments
    assert list(attachments) == ["factur-x.xml"]
    return attachments["factur-x.xml"][0]


def test_the_pdf_is_in_the_clients_language_with_every_figure(invoicing):  # noqa: F811
    issued, pdf = issued_pdf(invoicing)
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for expected in ("FACTURE", "INV-00041", "Acme IT SAS", "Boulangerie Martin SARL", "69001 Lyon", "Date d'émission",
                     "Date d'échéance", "Session d'assistance à distance s1", "20,00 EUR", "Total HT", "80,00 EUR",
                     "TVA 20,00 %", "16,00 EUR", "Total TTC", "96,00 EUR", "Paiement à 30 jours", "FR7630006000011234567890189"):
        assert expected in text, (expected, text)


def test_the_pdf_is_a_factur_x_pdf_a_3_whose_xml_passes_the_en_16931_schema_and_rules(invoicing):  # noqa: F811
    _, pdf = issued_pdf(invoicing)
    reader = PdfReader(io.BytesIO(pdf))
    catalog = reader.trailer["/Root"]
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    metadata = catalog["/Metadata"].get_object().get_data().decode()
    assert "<pdfaid:part>3</pdfaid:part>" in metadata and "factur-x" in metadata.lower()
    assert catalog["/AF"][0].get_object()["/AFRelationship"] in ("/Data", "/Alternative")
    fonts = [f.get_object() for f in reader.pages[0]["/Resources"]["/Font"].values()]
    assert fonts and all("/FontFile2" in f["/DescendantFonts"][0].get_object()["/FontDescriptor"] for f in fonts)  # embedded
    xml = embedded_xml(pdf)
    assert b"<ram:ID>INV-00041</ram:ID>" in xml and b"<ram:GrandTotalAmount>96.00</ram:GrandTotalAmount>" in xml
    assert schema_valid(xml)
    assert business_rule_failures(xml) == []
    failures = schematron_failures(xml)
    if failures is not None:  # the official rules, when Saxon is installed
        assert [f for f in failures if f[1] != "warning"] == [], failures


def test_the_checks_catch_a_wrong_total(invoicing):  # noqa: F811
    _, pdf = issued_pdf(invoicing)
    broken = embedded_xml(pdf).replace(b"<ram:GrandTotalAmount>96.00", b"<ram:GrandTotalAmount>97.00")
    assert business_rule_failures(broken) == ["BR-CO-15", "BR-CO-16"]  # the grand total and the amount due
    failures = schematron_failures(broken)
    if failures is not None:
        assert ("BR-CO-15", "fatal") in failures


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils (pdftoppm) is a test-only system package")
def test_a_rendered_page_shows_ink_where_the_invoice_is(invoicing, tmp_path):  # noqa: F811
    from PIL import Image

    _, pdf = issued_pdf(invoicing)
    (tmp_path / "invoice.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", str(tmp_path / "invoice.pdf"), str(tmp_path / "page")], check=True)
    page = Image.open(tmp_path / "page.png").convert("L")
    width, height = page.size
    assert (width, height) == (662, 936)  # A4 (210 × 297 mm) at 80 dpi, rounded up
    inked = lambda box: sum(1 for v in page.crop(box).tobytes() if v < 128)  # noqa: E731
    assert inked((0, 0, width, height // 3)) > 1500  # issuer, title, client, numbers
    assert inked((0, int(height * 0.85), width, height)) == 0  # a blank foot: nothing ran off the page
    PAGES.mkdir(parents=True, exist_ok=True)
    shutil.copy(tmp_path / "page.png", PAGES / "invoice-fr.png")


def test_a_credit_note_is_a_factur_x_381_referring_to_the_invoice(invoicing):  # noqa: F811
    issued, _ = issued_pdf(invoicing)
    status, voided = invoicing.admin.post(f"/v1/invoices/{issued['invoice_id']}/void")
    assert status == 200, voided
    pdf = fetch_pdf(invoicing, voided["credit_note"]["invoice_id"])
    assert "AVOIR" in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    xml = embedded_xml(pdf)
    assert b"<ram:TypeCode>381</ram:TypeCode>" in xml and b"<ram:IssuerAssignedID>INV-00041<" in xml
    assert schema_valid(xml) and business_rule_failures(xml) == []


def test_a_draft_has_no_document(invoicing):  # noqa: F811
    (draft,) = run(invoicing)["invoices"]
    assert_error(invoicing.finance.get(f"/v1/invoices/{draft['invoice_id']}/pdf"), 409, "invoice_draft")
    assert_error(invoicing.technician.get(f"/v1/invoices/{draft['invoice_id']}/pdf"), 403)
