"""An invoice holds a client's whole month, however many events: one draft per client and
currency, issued in one transaction (the events' marks are kept in one page per client and UTC
month), and still never two issued invoices for one event."""
from datetime import timedelta

from .conftest import T0, assert_error, record_many, upload
from .test_invoices import invoicing, issue_one_of_two_drafts, run  # noqa: F401  (the fixture: a French client's March, 20% VAT)

SESSIONS = 150  # more than one DynamoDB transaction could mark one item each (100 actions)


def many_sessions(tenant, count: int = SESSIONS) -> None:
    record_many(tenant, [upload(f"m{n:03d}", 1320, start=T0 + timedelta(days=5, minutes=30 * n)) for n in range(count)])
    status, body = tenant.finance.post("/v1/groups/acme/lock-all", {})
    assert status == 200 and body["locked"] == count, body


def test_a_month_of_150_sessions_is_one_invoice_issued_at_once(invoicing):  # noqa: F811
    many_sessions(invoicing)
    (draft,) = run(invoicing)["invoices"]
    assert len(draft["lines"]) == 3 + SESSIONS and draft["subtotal"] == "4580.00"  # 80.00 + 150 × 30.00
    status, issued = invoicing.finance.post(f"/v1/invoices/{draft['invoice_id']}/issue")
    assert status == 200 and issued["number"] == "INV-00041", issued
    assert run(invoicing)["invoices"] == []  # every event of the month is on it
    assert_error(invoicing.technician.post("/v1/sessions/m149/unlock"), 409, "session_invoiced")
    # voided, its events go on the next run's draft again, whole
    assert invoicing.admin.post(f"/v1/invoices/{draft['invoice_id']}/void")[0] == 200
    (again,) = run(invoicing)["invoices"]
    assert len(again["lines"]) == 3 + SESSIONS


def test_two_drafts_of_one_big_month_cannot_both_be_issued(invoicing):  # noqa: F811
    many_sessions(invoicing)
    issue_one_of_two_drafts(invoicing)


def test_a_page_of_marks_past_its_limit_is_a_409_naming_it(invoicing, monkeypatch):  # noqa: F811
    """A page holds 4,000 marks (within DynamoDB's 400 KB item limit); made 2 here."""
    from billing_core.dal import marks

    monkeypatch.setattr(marks, "MAX_MARKS", 2)
    (draft,) = run(invoicing)["invoices"]
    status, body = invoicing.finance.post(f"/v1/invoices/{draft['invoice_id']}/issue")
    assert_error((status, body), 409, "too_many_events")
    assert "2026-03" in body["error"]["message"]
    assert invoicing.finance.get(f"/v1/invoices/{draft['invoice_id']}")[1]["status"] == "draft"
