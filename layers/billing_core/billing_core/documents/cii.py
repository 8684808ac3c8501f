"""The EN 16931 Cross-Industry-Invoice XML of an issued invoice or credit note (Factur-X /
ZUGFeRD profile EN 16931), written with the standard library: what accounting tools read off the
PDF without retyping. Amounts are the invoice's exact ones; a credit note is type 381 with
positive amounts (the type says it credits), referring to the invoice it voids."""
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree as ET

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
for _prefix, _uri in (("rsm", RSM), ("ram", RAM), ("udt", UDT), ("qdt", QDT)):
    ET.register_namespace(_prefix, _uri)
EN16931 = "urn:cen.eu:en16931:2017"
INVOICE, CREDIT_NOTE = "380", "381"
CATEGORIES = {"S", "Z", "E", "AE", "K", "G", "O", "L", "M"}
EXEMPTION = {"E": "Exempt from VAT", "AE": "Reverse charge", "K": "Intra-community supply", "G": "Export outside the EU",
             "O": "Not subject to VAT"}


def _el(parent, name: str, text=None, ns: str = RAM, **attributes):
    element = ET.SubElement(parent, f"{{{ns}}}{name}", {k: str(v) for k, v in attributes.items()})
    if text is not None:
        element.text = str(text)
    return element


def _date(parent, name: str, day: date):
    holder = _el(parent, name)
    _el(holder, "DateTimeString", day.strftime("%Y%m%d"), ns=UDT, format="102")


def _money(amount) -> str:
    return str(abs(Decimal(amount)).quantize(Decimal("0.01")))


def category(rate: Decimal, tax_code: str | None) -> str:
    """The VAT category: the client's tax code when it is one of EN 16931's, else standard (S)
    for a positive rate and zero-rated (Z) for 0%."""
    if tax_code in CATEGORIES:
        return tax_code
    return "S" if rate > 0 else "Z"


def _party(parent, name: str, party: dict):
    holder = _el(parent, name)
    _el(holder, "Name", party.get("legal_name") or party.get("name"))
    address = _el(holder, "PostalTradeAddress")
    lines = [line.strip() for line in (party.get("address") or "").splitlines() if line.strip()]
    for tag, line in zip(("LineOne", "LineTwo", "LineThree"), lines):
        _el(address, tag, line)
    _el(address, "CountryID", party.get("country") or "FR")
    if party.get("email"):
        contact = _el(holder, "URIUniversalCommunication")
        _el(contact, "URIID", party["email"], schemeID="EM")
    if party.get("tax_id"):
        registration = _el(holder, "SpecifiedTaxRegistration")
        _el(registration, "ID", party["tax_id"], schemeID="VA")


def cii_xml(invoice: dict, billing: dict, issuer: dict, client: dict, period: tuple[date, date], credited_number: str | None) -> bytes:
    rate = Decimal(invoice["tax_rate"])
    code = category(rate, billing.get("tax_code"))
    root = ET.Element(f"{{{RSM}}}CrossIndustryInvoice")
    context = _el(root, "ExchangedDocumentContext", ns=RSM)
    _el(_el(context, "GuidelineSpecifiedDocumentContextParameter"), "ID", EN16931)
    document = _el(root, "ExchangedDocument", ns=RSM)
    _el(document, "ID", invoice["number"])
    _el(document, "TypeCode", CREDIT_NOTE if invoice.get("credit_note_of") else INVOICE)
    issued_on = date.fromisoformat(invoice["issued_at"][:10])
    _date(document, "IssueDateTime", issued_on)
    transaction = _el(root, "SupplyChainTradeTransaction", ns=RSM)
    for number, line in enumerate(invoice["lines"], start=1):
        item = _el(transaction, "IncludedSupplyChainTradeLineItem")
        _el(_el(item, "AssociatedDocumentLineDocument"), "LineID", number)
        _el(_el(item, "SpecifiedTradeProduct"), "Name", line["description"])
        price = _el(_el(item, "SpecifiedLineTradeAgreement"), "NetPriceProductTradePrice")
        _el(price, "ChargeAmount", _money(line["unit_amount"]))
        _el(_el(item, "SpecifiedLineTradeDelivery"), "BilledQuantity", line["quantity"], unitCode="C62")
        settlement = _el(item, "SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ApplicableTradeTax")
        _el(tax, "TypeCode", "VAT")
        _el(tax, "CategoryCode", code)
        if code not in ("E", "AE", "K", "G", "O"):
            _el(tax, "RateApplicablePercent", _money(rate))
        _el(_el(settlement, "SpecifiedTradeSettlementLineMonetarySummation"), "LineTotalAmount", _money(line["amount"]))
    agreement = _el(transaction, "ApplicableHeaderTradeAgreement")
    _el(agreement, "BuyerReference", client["group_id"])
    _party(agreement, "SellerTradeParty", issuer)
    _party(agreement, "BuyerTradeParty", {**client, **{k: v for k, v in billing.items() if v}})
    delivery = _el(_el(transaction, "ApplicableHeaderTradeDelivery"), "ActualDeliverySupplyChainEvent")
    _date(delivery, "OccurrenceDateTime", period[1])  # the services were delivered over the period, to its end
    settlement = _el(transaction, "ApplicableHeaderTradeSettlement")
    _el(settlement, "InvoiceCurrencyCode", invoice["currency"])
    if issuer.get("iban"):
        means = _el(settlement, "SpecifiedTradeSettlementPaymentMeans")
        _el(means, "TypeCode", "58")  # SEPA credit transfer
        _el(_el(means, "PayeePartyCreditorFinancialAccount"), "IBANID", issuer["iban"])
    tax = _el(settlement, "ApplicableTradeTax")
    _el(tax, "CalculatedAmount", _money(invoice["tax"]))
    _el(tax, "TypeCode", "VAT")
    if code in EXEMPTION:
        _el(tax, "ExemptionReason", EXEMPTION[code])
    _el(tax, "BasisAmount", _money(invoice["subtotal"]))
    _el(tax, "CategoryCode", code)
    if code not in EXEMPTION:
        _el(tax, "RateApplicablePercent", _money(rate))
    billed = _el(settlement, "BillingSpecifiedPeriod")
    _date(billed, "StartDateTime", period[0])
    _date(billed, "EndDateTime", period[1])
    terms = _el(settlement, "SpecifiedTradePaymentTerms")
    _el(terms, "Description", f"{billing.get('payment_terms_days', 30)} days")
    if invoice.get("due_date") and not invoice.get("credit_note_of"):
        _date(terms, "DueDateDateTime", date.fromisoformat(invoice["due_date"]))
    sums = _el(settlement, "SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(sums, "LineTotalAmount", _money(invoice["subtotal"]))
    _el(sums, "TaxBasisTotalAmount", _money(invoice["subtotal"]))
    _el(sums, "TaxTotalAmount", _money(invoice["tax"]), currencyID=invoice["currency"])
    _el(sums, "GrandTotalAmount", _money(invoice["total"]))
    _el(sums, "DuePayableAmount", _money(invoice["total"]))
    if credited_number:
        _el(_el(settlement, "InvoiceReferencedDocument"), "IssuerAssignedID", credited_number)
    return ET.tostring(root, xml_declaration=True, encoding="UTF-8")
