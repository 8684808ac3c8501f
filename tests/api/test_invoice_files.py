"""QuickBooks Online and Xero files of a run's issued invoices, under their issued numbers: the
same numbers in every file, month after month; QuickBooks' sample headers plus ItemTaxCode and
Currency, Xero's template with *TaxType, TaxAmount and Currency; the lines' tax adds up."""
import csv
import io
import os
from decimal import Decimal

import boto3

from billing_core.files.invoice_files import line_taxes

from .conftest import assert_error, assert_invalid
from .test_invoices import invoicing, run  # noqa: F401  (the fixture: a French client's March, 20% VAT)

QUICKBOOKS_SAMPLE = ["InvoiceNo", "Customer", "InvoiceDate", "DueDate", "Item(Product/Service)", "ItemDescription",
                     "ItemQuantity", "ItemRate", "ItemAmount"]


def exported(tenant, run_id: str, file_format: str, path: str = "/v1/exports") -> list[dict]:
    """The run's file, asked as finance's monthly run asks for files: POST /v1/exports {run_id}."""
    body = {"format": file_format, **({"run_id": run_id} if path == "/v1/exports" else {})}
    status, link = tenant.finance.post(path, body)
    assert status == 201 and link["run_id"] == run_id and link["format"] == file_format, link
    raw = boto3.client("s3").get_object(Bucket=os.environ["EXPORTS_BUCKET"], Key=link["key"])["Body"].read()
    assert raw.startswith("\ufeff".encode()) and link["file_name"] == f"{run_id}-{file_format}.csv"
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def issued_run(tenant) -> str:
    body = run(tenant)
    for draft in body["invoices"]:
        assert tenant.finance.post(f"/v1/invoices/{draft['invoice_id']}/issue")[0] == 200
    return body["run_id"]


def test_quickbooks_file_has_the_sample_headers_the_issued_numbers_tax_code_and_currency(invoicing):  # noqa: F811
    run_id = issued_run(invoicing)
    rows = exported(invoicing, run_id, "quickbooks")
    assert list(rows[0])[:9] == QUICKBOOKS_SAMPLE and list(rows[0])[9:] == ["ItemTaxCode", "ServiceDate", "Currency"]
    assert [(r["InvoiceNo"], r["ItemAmount"], r["ItemTaxCode"], r["Currency"]) for r in rows] == [
        ("INV-00041", "20.00", "20.00%", "EUR"), ("INV-00041", "25.00", "20.00%", "EUR"), ("INV-00041", "35.00", "20.00%", "EUR")]
    assert rows[0]["Customer"] == "Boulangerie Martin SARL" and rows[0]["ServiceDate"] == "03/02/2026"
    assert exported(invoicing, run_id, "quickbooks") == rows  # the same numbers on every export


def test_xero_file_has_tax_type_tax_amount_and_currency_adding_up_to_the_invoice(invoicing):  # noqa: F811
    run_id = issued_run(invoicing)
    rows = exported(invoicing, run_id, "xero")
    assert {"*ContactName", "*InvoiceNumber", "*TaxType", "TaxAmount", "Currency"} <= set(rows[0])
    assert {r["*InvoiceNumber"] for r in rows} == {"INV-00041"}
    assert sum(Decimal(r["TaxAmount"]) for r in rows) == Decimal("16.00")
    assert {(r["*TaxType"], r["Currency"]) for r in rows} == {("Tax on Sales", "EUR")}


def test_the_lines_tax_adds_up_to_the_invoice_tax_rounded_once():
    amounts = [Decimal("0.05")] * 3  # 10% of 0.15 = 0.015 → 0.02 on the invoice; 3 × 0.005 → 0.01 each
    assert sum(line_taxes(amounts, Decimal("0.02"), Decimal("10"))) == Decimal("0.02")


def test_drafts_are_not_in_the_files_and_bad_requests_are_refused(invoicing):  # noqa: F811
    body = run(invoicing)
    assert exported(invoicing, body["run_id"], "xero") == []
    assert_invalid(invoicing.finance.post(f"/v1/invoice-runs/{body['run_id']}/exports", {"format": "pdf"}), "format")
    assert_error(invoicing.finance.post("/v1/invoice-runs/2026-03-run-nothing/exports", {"format": "xero"}), 404)
    assert_invalid(invoicing.finance.post("/v1/exports", {"run_id": body["run_id"], "format": "csv"}), "format")
    assert_invalid(invoicing.finance.post("/v1/exports", {"run_id": body["run_id"], "format": "xero", "locale": "fr"}), "locale")
    assert_invalid(invoicing.finance.post("/v1/exports", {"run_id": "", "format": "xero"}), "run_id")
    assert_invalid(invoicing.finance.post("/v1/exports", {"run_id": 7, "format": "xero"}), "run_id")
    assert_error(invoicing.finance.post("/v1/exports", {"run_id": "2026-03-run-nothing", "format": "xero"}), 404)
    assert_error(invoicing.technician.post("/v1/exports", {"run_id": body["run_id"], "format": "xero"}), 403)


def test_the_run_path_of_before_answers_the_same_file(invoicing):  # noqa: F811
    run_id = issued_run(invoicing)
    assert exported(invoicing, run_id, "quickbooks", f"/v1/invoice-runs/{run_id}/exports") == exported(invoicing, run_id, "quickbooks")


def test_an_idempotency_key_answers_the_run_file_again_with_a_fresh_link(invoicing):  # noqa: F811
    run_id = issued_run(invoicing)
    body, key = {"run_id": run_id, "format": "xero"}, {"Idempotency-Key": "xero-2026-03"}
    status, first = invoicing.finance.call("POST", "/v1/exports", body, headers=key)
    assert status == 201, first
    status, again = invoicing.finance.call("POST", "/v1/exports", body, headers=key)
    assert status == 201 and (again["key"], again["invoices"], again["rows"]) == (first["key"], 1, 3), again
    assert again["url"].startswith("http")
