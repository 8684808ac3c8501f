"""An issued invoice's document: a PDF/A-3 page laid out in the client's language (fpdf2, fonts
embedded) that is also a Factur-X / ZUGFeRD e-invoice: the EN 16931 CII XML (documents.cii)
embedded as `factur-x.xml` with its XMP metadata by the `factur-x` library, which checks the XML
against the EN 16931 schema before it is written.

Imported only by the PDF function: fpdf2, pypdf and lxml cost the other functions nothing."""
import re
from datetime import date
from pathlib import Path

from .. import invoicing
from . import cii

FONTS = Path(__file__).resolve().parent / "fonts"
_COUNTRY = re.compile(r"[A-Z]{2}")


def _country(party: dict, fallback: str | None) -> str:
    """A party's country: given, else its VAT id's prefix, else the fallback."""
    if party.get("country"):
        return party["country"]
    prefix = (party.get("tax_id") or "")[:2]
    return prefix if _COUNTRY.fullmatch(prefix) else (fallback or "FR")


def month_period(month: str) -> tuple[date, date]:
    year, number = invoicing.parse_month(month)
    end = date(year + number // 12, number % 12 + 1, 1)
    return date(year, number, 1), date.fromordinal(end.toordinal() - 1)


def render(invoice: dict, billing: dict, issuer: dict, client: dict, credited_number: str | None = None) -> tuple[bytes, bytes]:
    """The Factur-X PDF and its XML, for an issued invoice or credit note."""
    import facturx  # lazily: only the PDF function loads pypdf and lxml

    from .layout import page

    issuer = {**issuer, "country": _country(issuer, None)}
    billing = {**billing, "country": _country(billing, issuer["country"])}
    xml = cii.cii_xml(invoice, billing, issuer, client, month_period(invoice["period"]), credited_number)
    pdf = page(invoice, billing, issuer, client, credited_number)
    locale = billing.get("locale") or "en"
    title = invoicing.wording(locale, "credit_note" if invoice.get("credit_note_of") else "invoice")
    metadata = {"author": issuer.get("legal_name") or "", "keywords": "Factur-X", "title": f"{title} {invoice['number']}",
                "subject": f"{title} {invoice['number']}"}
    document = facturx.generate_from_binary(pdf, xml, flavor="factur-x", level="en16931", check_xsd=True,
                                            pdf_metadata=metadata, lang=locale)
    return document, xml
