"""The invoice page (A4, PDF/A-3B, Liberation Sans embedded): issuer, client, number, dates,
lines, subtotal, tax, total and payment terms, worded and formatted in the client's language."""
from datetime import date
from decimal import Decimal

from fpdf import FPDF

from .. import invoicing

WIDTHS = (98, 18, 32, 32)  # description, quantity, unit price, amount (mm; 180 between the margins)


def _text(value) -> str:
    return "" if value is None else str(value)


def page(invoice: dict, billing: dict, issuer: dict, client: dict, credited_number: str | None) -> bytes:
    from . import FONTS

    locale = billing.get("locale") or "en"
    say = lambda key, **values: invoicing.wording(locale, key, **values)  # noqa: E731
    money = lambda amount: f"{invoicing.money_in(locale, Decimal(amount))} {invoice['currency']}"  # noqa: E731
    pdf = FPDF(format="A4", enforce_compliance="PDF/A-3B")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, 20)
    pdf.add_font("Sans", "", str(FONTS / "LiberationSans-Regular.ttf"))
    pdf.add_font("Sans", "B", str(FONTS / "LiberationSans-Bold.ttf"))
    pdf.set_lang(locale)
    pdf.set_title(f"{say('invoice')} {invoice['number']}")
    pdf.set_author(_text(issuer.get("legal_name")))
    pdf.set_creator("remote-support-accounting")
    pdf.add_page()

    pdf.set_font("Sans", "B", 13)
    pdf.cell(110, 7, _text(issuer.get("legal_name")))
    title = say("credit_note" if invoice.get("credit_note_of") else "invoice")
    pdf.set_font("Sans", "B", 20)
    pdf.cell(0, 7, title.upper(), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Sans", "", 9)
    issuer_lines = [*(_text(issuer.get("address")).splitlines()), _text(issuer.get("tax_id") and f"{say('tax_id')} {issuer['tax_id']}")]
    top = pdf.get_y()
    pdf.multi_cell(100, 4.5, "\n".join(line for line in issuer_lines if line))
    pdf.set_xy(125, top + 2)
    issued = date.fromisoformat(invoice["issued_at"][:10])
    facts = [(say("number"), invoice["number"]), (say("issue_date"), invoicing.date_in(locale, issued)),
             (say("period"), invoice["period"])]
    if invoice.get("due_date") and not invoice.get("credit_note_of"):
        facts.append((say("due_date"), invoicing.date_in(locale, date.fromisoformat(invoice["due_date"]))))
    if credited_number:
        facts.append(("↺", credited_number))
    for label, value in facts:
        pdf.set_x(125)
        pdf.set_font("Sans", "", 9)
        pdf.cell(30, 5, label)
        pdf.set_font("Sans", "B", 9)
        pdf.cell(0, 5, _text(value), align="R", new_x="LMARGIN", new_y="NEXT")

    pdf.set_y(max(pdf.get_y(), top + 28) + 6)
    pdf.set_font("Sans", "B", 9)
    pdf.cell(0, 5, say("bill_to"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Sans", "", 10)
    buyer = [billing.get("legal_name") or client.get("name"), *(_text(billing.get("address")).splitlines()),
             billing.get("tax_id") and f"{say('tax_id')} {billing['tax_id']}"]
    pdf.multi_cell(100, 5, "\n".join(_text(line) for line in buyer if line), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(8)

    pdf.set_fill_color(235, 238, 243)
    pdf.set_font("Sans", "B", 9)
    for width, key, align in zip(WIDTHS, ("description", "quantity", "unit", "amount"), "LRRR"):
        pdf.cell(width, 7, say(key), border="B", align=align, fill=True)
    pdf.ln()
    pdf.set_font("Sans", "", 9)
    for line in invoice["lines"]:
        y = pdf.get_y()
        pdf.multi_cell(WIDTHS[0], 5, line["description"], new_x="RIGHT", new_y="TOP")
        height = max(pdf.get_y(), y + 5) - y
        pdf.set_xy(15 + WIDTHS[0], y)
        pdf.cell(WIDTHS[1], 5, line["quantity"], align="R")
        pdf.cell(WIDTHS[2], 5, money(line["unit_amount"]), align="R")
        pdf.cell(WIDTHS[3], 5, money(line["amount"]), align="R")
        pdf.set_xy(15, y + max(height, 5) + 1)

    pdf.ln(3)
    rate = invoicing.money_in(locale, Decimal(invoice["tax_rate"]))
    for label, amount, bold in ((say("subtotal"), invoice["subtotal"], False), (f"{say('tax')} {rate} %", invoice["tax"], False),
                                (say("total"), invoice["total"], True)):
        pdf.set_x(15 + WIDTHS[0])
        pdf.set_font("Sans", "B" if bold else "", 11 if bold else 9)
        pdf.cell(WIDTHS[1] + WIDTHS[2], 6, label, border="T" if bold else 0)
        pdf.cell(WIDTHS[3], 6, money(amount), align="R", border="T" if bold else 0, new_x="LMARGIN", new_y="NEXT")

    pdf.ln(10)
    pdf.set_font("Sans", "", 9)
    if not invoice.get("credit_note_of"):
        pdf.cell(0, 5, say("terms", days=billing.get("payment_terms_days", 30)), new_x="LMARGIN", new_y="NEXT")
    if issuer.get("iban"):
        pdf.cell(0, 5, f"IBAN {issuer['iban']}", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
