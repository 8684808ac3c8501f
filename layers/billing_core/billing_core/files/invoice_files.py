"""QuickBooks Online and Xero import files of a run's issued invoices, under the numbers they were
issued with (the files never number anything). One row per invoice line.

- QuickBooks Online: the columns of its invoice import sample file, which it maps by itself,
  plus `ItemTaxCode` (the client's tax code, else its rate) and `Currency`.
- Xero: its sales invoice template's columns, with `*TaxType` (the client's tax code, else
  Xero's "Tax Exempt" / "Tax on Sales"), `TaxAmount` and `Currency`. The invoice's tax (rounded
  once on the invoice) is spread over its lines so that the lines' tax adds up to it exactly.
Voided invoices and credit notes are left out: each tool has its own credit-note import."""
import csv
import io
import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .. import fields, invoicing
from ..dal import invoices as dal
from ..errors import InvalidInput, NotFound
from . import DATE_FORMATS, QUICKBOOKS, XERO
from .writers import QUICKBOOKS_COLUMNS, neutralise

QUICKBOOKS_INVOICE_COLUMNS = (*QUICKBOOKS_COLUMNS[:9], "ItemTaxCode", *QUICKBOOKS_COLUMNS[9:], "Currency")
XERO_INVOICE_COLUMNS = ("*ContactName", "EmailAddress", "*InvoiceNumber", "Reference", "*InvoiceDate", "*DueDate",
                        "*Description", "*Quantity", "*UnitAmount", "*AccountCode", "*TaxType", "TaxAmount", "Currency")
BOM = "\ufeff"


def line_taxes(amounts: list[Decimal], tax: Decimal, rate: Decimal) -> list[Decimal]:
    """Each line's share of the invoice's tax, half-up, the rounding difference on the largest
    line: they add up to the invoice's tax exactly."""
    shares = [(amount * rate / 100).quantize(fields.CENT, rounding=ROUND_HALF_UP) for amount in amounts]
    if shares:
        largest = max(range(len(amounts)), key=lambda n: abs(amounts[n]))
        shares[largest] += tax - sum(shares, Decimal("0.00"))
    return shares


def rows(invoices: list[dict], clients: dict[str, dict], file_format: str, account_code: str, item: str) -> list[list[str]]:
    pattern = DATE_FORMATS["MM/DD/YYYY" if file_format == QUICKBOOKS else "DD/MM/YYYY"]
    out = []
    for invoice in invoices:
        billing = invoice["billing"]
        client = neutralise(billing.get("legal_name") or clients.get(invoice["group_id"], {}).get("name") or invoice["group_id"])
        issued = date.fromisoformat(invoice["issued_at"][:10]).strftime(pattern)
        due = date.fromisoformat(invoice["due_date"]).strftime(pattern)
        rate = Decimal(invoice["tax_rate"])
        lines = invoice["lines"]
        taxes = line_taxes([Decimal(l["amount"]) for l in lines], Decimal(invoice["tax"]), rate)
        code = billing.get("tax_code")
        for line, tax in zip(lines, taxes):
            description = neutralise(line["description"])
            if file_format == XERO:
                tax_type = code or ("Tax on Sales" if rate > 0 else "Tax Exempt")
                out.append([client, billing.get("email") or "", invoice["number"], invoice["period"], issued, due, description,
                            line["quantity"], line["unit_amount"], account_code, tax_type, str(tax), invoice["currency"]])
            else:
                service = date.fromisoformat(line["service_date"]).strftime(pattern) if line.get("service_date") else ""
                out.append([invoice["number"], client, issued, due, item, description, line["quantity"], line["unit_amount"],
                            line["amount"], code or f"{invoicing.money_in('en', rate)}%", service, invoice["currency"]])
    return out


def write(invoices: list[dict], clients: dict[str, dict], file_format: str, account_code: str = "200", item: str = "Services") -> bytes:
    text = io.StringIO()
    text.write(BOM)  # UTF-8 with a BOM: what Excel saves as "CSV UTF-8", which both tools import
    writer = csv.writer(text, delimiter=",", lineterminator="\r\n")
    writer.writerow(XERO_INVOICE_COLUMNS if file_format == XERO else QUICKBOOKS_INVOICE_COLUMNS)
    writer.writerows(rows(invoices, clients, file_format, account_code, item))
    return text.getvalue().encode("utf-8")


RUN_EXPORT_FIELDS = frozenset({"run_id", "format", "account_code", "item"})
LINK_SECONDS = 900


def export_run_request(tenant_id: str, values: dict, actor: str | None) -> dict:
    """POST /v1/exports {run_id, format: quickbooks|xero, account_code?, item?}: the run's file."""
    unknown = sorted(set(values) - RUN_EXPORT_FIELDS)
    if unknown:
        raise InvalidInput(unknown[0], "is not a field of an invoice run's export (run_id, format, account_code, item)")
    return export_run(tenant_id, fields.identifier("run_id", values["run_id"]), values, actor)


def fresh_link(answer: dict) -> dict:
    """A run file's answer again (an Idempotency-Key's replay) with its link signed afresh."""
    from . import s3

    link = s3.link(s3.s3_client(), answer["run_id"], answer["key"], LINK_SECONDS, answer["file_name"])
    return {**answer, "url": link["url"], "expires_at": link["expires_at"]}


def export_run(tenant_id: str, run_id: str, values: dict, actor: str | None) -> dict:
    """The run's issued invoices as a QuickBooks or Xero file {format, account_code?, item?}
    (POST /v1/exports with its run_id; also POST /v1/invoice-runs/{run_id}/exports)."""
    from .. import settings
    from . import s3
    from ..invoices import view

    file_format = values.get("format")
    if file_format not in (QUICKBOOKS, XERO):
        raise InvalidInput("format", "must be quickbooks or xero")
    # no lone surrogate, no control character (a NUL in a CSV cell breaks the import)
    account_code = fields.name("account_code", fields.text("account_code", values.get("account_code", "200"), 30))
    item = fields.name("item", fields.text("item", values.get("item", "Services"), 100))
    month = run_id[:7]
    try:
        invoicing.parse_month(month)
    except InvalidInput:
        raise NotFound(f"invoice run {run_id} not found") from None
    items = [i for i in dal.month_invoices(tenant_id, month) if i.run_id == run_id]
    if not items:
        raise NotFound(f"invoice run {run_id} not found")
    issued = sorted((i for i in items if i.status == "issued" and not i.credit_note_of), key=lambda i: i.number)
    invoices = [{**view(i), "billing": json.loads(i.billing)} for i in issued]
    clients = {}
    for group_id in {i["group_id"] for i in invoices}:  # the group's name where billing has no legal name
        group = dal.read_client(tenant_id, group_id)[0]
        clients[group_id] = {"name": group.name if group else group_id}
    body = write(invoices, clients, file_format, account_code, item)
    client = s3.s3_client()
    key = f"tenants/{tenant_id}/invoice-files/{run_id}-{file_format}.csv"
    client.put_object(Bucket=settings.exports_bucket(), Key=key, Body=body, ContentType="text/csv; charset=utf-8")
    link = s3.link(client, run_id, key, LINK_SECONDS, f"{run_id}-{file_format}.csv")
    return {"run_id": run_id, "format": file_format, "invoices": len(invoices), "rows": body.count(b"\r\n") - 1, **link}
