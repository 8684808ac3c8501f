"""POST /v1/groups/{group_id}/exports: a CSV of a session search in S3 under the tenant's prefix,
handed out as a presigned link that expires; spreadsheet formulas in text cells are neutralised."""
import csv
import io
import os
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlparse

import boto3
import pytest

from .conftest import T0, assert_error, assert_invalid, create_group, record

COLUMNS = ["session_id", "group_id", "technician", "computer_id", "started_at", "ended_at", "connection_seconds",
           "extra_minutes", "total_seconds", "billed_minutes", "cost", "currency", "status", "locked_at",
           "profile_id", "profile_version", "notes"]


def download(key: str) -> str:
    body = boto3.client("s3").get_object(Bucket=os.environ["EXPORTS_BUCKET"], Key=key)["Body"].read()
    return body.decode("utf-8")


def rows(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def export(tenant, body=None, group_id="acme"):
    status, answer = tenant.finance.post(f"/v1/groups/{group_id}/exports", body if body is not None else {})
    assert status == 201, answer
    return answer


def test_the_csv_has_the_spec_columns_in_order_and_exact_rows(msp, acme):
    record(msp, "s-1", 1320, notes="printer; driver, \"v2\"")
    msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": -10})
    record(msp, "s-2", 3660, start=T0 + timedelta(hours=1), technician="bob")
    locked = msp.finance.post("/v1/sessions/s-2/lock")[1]
    before = datetime.now(timezone.utc)
    answer = export(msp)
    assert answer["rows"] == 2
    assert answer["key"].startswith(f"tenants/{msp.tenant_id}/exports/") and answer["key"].endswith(".csv")
    assert len(answer["key"].rsplit("/", 1)[1]) >= 24 + len(".csv")  # unguessable
    expires_at = datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
    assert timedelta(minutes=15) - timedelta(seconds=5) <= expires_at - before <= timedelta(minutes=15, seconds=60)
    link = urlparse(answer["url"])
    assert answer["key"] in link.path and parse_qs(link.query)["X-Amz-Expires"] == ["900"]

    text = download(answer["key"])
    assert text.startswith(",".join(COLUMNS) + "\r\n")
    assert rows(text) == [
        COLUMNS,
        ["s-1", "acme", "ann", "pc-1", "2026-03-02T09:00:00Z", "2026-03-02T09:22:00Z", "1320", "-10", "720", "15",
         "20.00", "EUR", "to_account", "", "standard", "1", "printer; driver, \"v2\""],
        ["s-2", "acme", "bob", "pc-1", "2026-03-02T10:00:00Z", "2026-03-02T11:01:00Z", "3660", "0", "3660", "65",
         "70.00", "EUR", "accounted", locked["locked_at"], "standard", "1", ""],
    ]


def test_the_semicolon_delimiter(msp, acme):
    record(msp, "s-1", 1320, notes="a;b,c")
    text = download(export(msp, {"delimiter": ";"})["key"])
    assert text.splitlines()[0] == ";".join(COLUMNS)
    assert rows(text, ";")[1][-1] == "a;b,c" and rows(text, ";")[1][:3] == ["s-1", "acme", "ann"]


@pytest.mark.parametrize("notes, cell", [
    ('=HYPERLINK("http://evil.example/x","click")', '\'=HYPERLINK("http://evil.example/x","click")'),
    ("+1", "'+1"), ("-2", "'-2"), ("@x", "'@x"), ("\tcmd", "'\tcmd"),  # a carriage return cannot reach a note (SPEC §8)
    ("plain -2 text", "plain -2 text"), ("", ""),
])
def test_formula_injection_is_neutralised_in_text_cells_only(msp, acme, notes, cell):
    record(msp, "s-1", 1320, notes=notes, technician="=cmd|' /C calc'!A0")
    msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": -2})
    for delimiter in (",", ";"):
        (header, row) = rows(download(export(msp, {"delimiter": delimiter})["key"]), delimiter)
        values = dict(zip(header, row))
        assert values["notes"] == cell
        assert values["technician"] == "'=cmd|' /C calc'!A0"
        assert values["extra_minutes"] == "-2"  # a number stays a number
        assert (values["session_id"], values["cost"]) == ("s-1", "25.00")  # 20 min: 15 + one 5-min step


def test_the_export_honours_status_and_period(msp, acme):
    for n in range(4):
        record(msp, f"s-{n}", 1320, start=T0 + timedelta(days=n))
    msp.finance.post("/v1/sessions/s-1/lock")
    msp.finance.post("/v1/sessions/s-2/lock")
    answer = export(msp, {"status": "accounted"})
    assert answer["rows"] == 2 and [r[0] for r in rows(download(answer["key"]))[1:]] == ["s-1", "s-2"]
    answer = export(msp, {"from": "2026-03-03T09:00:00Z", "to": "2026-03-05T09:00:00Z"})
    assert [r[0] for r in rows(download(answer["key"]))[1:]] == ["s-1", "s-2"]
    answer = export(msp, {"from": "2026-03-03T09:00:00Z", "status": "to_account"})
    assert [r[0] for r in rows(download(answer["key"]))[1:]] == ["s-3"]


def test_an_empty_export_has_the_header_only(msp, acme):
    answer = export(msp, None)
    assert answer["rows"] == 0 and rows(download(answer["key"])) == [COLUMNS]


def test_each_export_has_its_own_key(msp, acme):
    assert export(msp)["key"] != export(msp)["key"]


def test_the_link_may_last_longer_up_to_7_days_but_not_beyond_the_signing_session(msp, acme):
    # The tests sign with session credentials (AWS_SESSION_TOKEN, as in Lambda): an hour at most,
    # then GET /v1/exports/{id} answers a fresh link (tests/test_export_links.py).
    answer = export(msp, {"expires_in_minutes": 7 * 24 * 60})
    assert parse_qs(urlparse(answer["url"]).query)["X-Amz-Expires"] == ["3600"]
    assert export(msp, {"expires_in_minutes": 30})["url"].count("X-Amz-Expires=1800") == 1
    assert_invalid(msp.finance.post("/v1/groups/acme/exports", {"expires_in_minutes": 7 * 24 * 60 + 1}), "expires_in_minutes")


@pytest.mark.parametrize("body, field", [
    ({"delimiter": "|"}, "delimiter"), ({"delimiter": "\t"}, "delimiter"), ({"status": "paid"}, "status"),
    ({"from": "2026-02-30"}, "from"), ({"from": "02/03/2026"}, "from"), ({"to": 5}, "to"), ({"format": "pdf"}, "format"),
    ({"format": "XLSX"}, "format"), ({"locale": "es"}, "locale"), ({"locale": "fr", "delimiter": ","}, "delimiter"),
    ({"format": "xlsx", "delimiter": ";"}, "delimiter"), ({"format": "xero", "locale": "fr"}, "locale"),
    ({"time_zone": "Mars/Olympus"}, "time_zone"), ({"time_zone": "../../etc/passwd"}, "time_zone"),
    ({"time_zone": 1}, "time_zone"), ({"time_zone": "Europe/Paris\n"}, "time_zone"),
    ({"invoice_prefix": "INV-"}, "invoice_prefix"), ({"format": "xero", "invoice_prefix": "a b"}, "invoice_prefix"),
    ({"format": "xero", "invoice_start": 0}, "invoice_start"), ({"format": "xero", "invoice_start": True}, "invoice_start"),
    ({"format": "quickbooks", "due_days": 366}, "due_days"), ({"format": "quickbooks", "due_days": "30"}, "due_days"),
    ({"format": "quickbooks", "invoice_date": "2026-13-01"}, "invoice_date"), ({"format": "xero", "item": ""}, "item"),
    ({"format": "xero", "account_code": "x" * 31}, "account_code"), ({"format": "xero", "tax_type": "a\tb"}, "tax_type"),
    ({"format": "xero", "date_format": "D/M/Y"}, "date_format"),
    # objects and arrays where a name is expected: named, never an unhashable-type 500
    ({"locale": {}}, "locale"), ({"locale": ["fr"]}, "locale"), ({"format": {}}, "format"), ({"format": []}, "format"),
    ({"delimiter": [";"]}, "delimiter"), ({"format": "quickbooks", "date_format": []}, "date_format"),
    ({"format": "xero", "date_format": {"a": 1}}, "date_format"), ({"time_zone": {}}, "time_zone"),
    ({"status": []}, "status"), ({"status": {}}, "status"),
    # lone surrogates in the invoice texts (not valid Unicode: no file can hold them)
    ({"format": "xero", "item": "Support \ud800"}, "item"), ({"format": "quickbooks", "account_code": "\udfff"}, "account_code"),
    ({"format": "xero", "tax_type": "Tax \ud83d Exempt"}, "tax_type"),
])
def test_a_bad_export_is_a_400_naming_the_field_and_writes_nothing(msp, acme, body, field):
    assert_invalid(msp.finance.post("/v1/groups/acme/exports", body), field)
    listing = boto3.client("s3").list_objects_v2(Bucket=os.environ["EXPORTS_BUCKET"], Prefix=f"tenants/{msp.tenant_id}/")
    assert listing["KeyCount"] == 0


def test_another_tenants_or_an_unknown_group_is_a_404(msp, other_msp, acme):
    record(msp, "s-1")
    assert_error(other_msp.finance.post("/v1/groups/acme/exports", {}), 404, "not_found")
    assert_error(msp.finance.post("/v1/groups/nowhere/exports", {}), 404, "not_found")
    listing = boto3.client("s3").list_objects_v2(Bucket=os.environ["EXPORTS_BUCKET"], Prefix=f"tenants/{other_msp.tenant_id}/")
    assert listing["KeyCount"] == 0


def test_a_group_without_contract_exports_unpriced_sessions(msp):
    create_group(msp, "newco")
    record(msp, "s-1", 1320, group_id="newco")
    values = dict(zip(*rows(download(export(msp, group_id="newco")["key"]))))
    assert (values["cost"], values["billed_minutes"], values["currency"], values["profile_id"]) == ("", "", "", "")
    assert values["total_seconds"] == "1320"


def test_an_export_replayed_by_its_key_answers_a_fresh_link_to_the_same_file(msp, acme, monkeypatch):
    from billing_core import fields

    def keyed():
        return msp.finance.call("POST", "/v1/groups/acme/exports", {"expires_in_minutes": 1},
                                headers={"Idempotency-Key": "monthly-run-2026-03"})

    status, first = keyed()
    assert status == 201, first
    later = fields.utc_now() + timedelta(minutes=5)  # the first link has expired by now
    monkeypatch.setattr(fields, "utc_now", lambda: later)
    status, again = keyed()
    assert status == 201 and {k: again[k] for k in ("export_id", "key", "rows", "file_name", "status")} == {
        k: first[k] for k in ("export_id", "key", "rows", "file_name", "status")}  # the same export, not a new one
    assert datetime.fromisoformat(again["expires_at"].replace("Z", "+00:00")) > later  # a link that still works
    assert parse_qs(urlparse(again["url"]).query)["X-Amz-Expires"] == ["60"]  # signed again, as asked
    listing = boto3.client("s3").list_objects_v2(Bucket=os.environ["EXPORTS_BUCKET"], Prefix=f"tenants/{msp.tenant_id}/")
    assert listing["KeyCount"] == 1  # nothing written again
