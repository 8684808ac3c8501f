"""Every invoice issue and void and every period close names who did it, `{kind: user|token, id,
name}`: a person signed in with the user pool by the name they had then, an API token by its
label wherever invoices and periods are read."""
import pytest
from api.conftest import acme  # noqa: F401 (group acme on the Standard profile)
from api.test_invoices import invoicing, run  # noqa: F401 (three locked sessions of March 2026)
from conftest import Client


@pytest.fixture
def robot(msp):
    """A finance API token labelled "Billing robot", and its id."""
    made = msp.admin.post("/v1/tokens", {"role": "admin", "label": "Billing robot"})[1]
    return Client(msp.admin.gateway, made["token"]), made["token_id"]


def token(token_id: str, label: str | None) -> dict:
    return {"kind": "token", "id": token_id, "name": label}


def test_an_invoice_names_the_person_who_issued_it_and_the_one_who_voided_it(people, invoicing):
    finance, admin = people["finance"], people["admin"]
    (draft,) = run(invoicing)["invoices"]
    assert draft["issued_by"] is None and "voided_by" not in draft
    status, issued = finance.post(f"/v1/invoices/{draft['invoice_id']}/issue")
    assert status == 200, issued
    by_finance = {"kind": "user", "id": finance.user_id, "name": "Finance Person"}
    assert issued["issued_by"] == by_finance
    assert finance.get(f"/v1/invoices/{draft['invoice_id']}")[1]["issued_by"] == by_finance

    status, voided = admin.post(f"/v1/invoices/{draft['invoice_id']}/void")
    assert status == 200, voided
    by_admin = {"kind": "user", "id": admin.user_id, "name": "Admin Person"}
    assert voided["invoice"]["voided_by"] == by_admin and voided["invoice"]["issued_by"] == by_finance
    assert voided["credit_note"]["issued_by"] == by_admin  # the credit note is issued by whoever voids
    listed = {i["invoice_id"]: i for i in finance.get("/v1/invoices", "month=2026-03")[1]["invoices"]}
    assert listed[draft["invoice_id"]]["voided_by"] == by_admin
    assert listed[voided["credit_note"]["invoice_id"]]["issued_by"] == by_admin


def test_an_invoice_issued_and_voided_with_a_token_names_the_token_by_its_label(invoicing, robot):
    client, token_id = robot
    (draft,) = run(invoicing)["invoices"]
    status, issued = client.post(f"/v1/invoices/{draft['invoice_id']}/issue")
    assert status == 200 and issued["issued_by"] == token(token_id, None)  # its label where invoices are read
    assert invoicing.finance.get(f"/v1/invoices/{draft['invoice_id']}")[1]["issued_by"] == token(token_id, "Billing robot")
    status, voided = client.post(f"/v1/invoices/{draft['invoice_id']}/void")
    assert status == 200 and voided["invoice"]["voided_by"] == token(token_id, None)
    listed = invoicing.finance.get("/v1/invoices", "month=2026-03&status=void")[1]["invoices"]
    assert [(i["issued_by"], i["voided_by"]) for i in listed] == [(token(token_id, "Billing robot"),) * 2]


def test_a_period_names_the_person_or_the_token_who_closed_or_reopened_it(people, msp, robot):
    client, token_id = robot
    assert people["finance"].get("/v1/periods/2026-03")[1]["changed_by"] is None  # never closed
    status, closed = people["finance"].post("/v1/periods/2026-03/close")
    by_finance = {"kind": "user", "id": people["finance"].user_id, "name": "Finance Person"}
    assert status == 200 and closed["changed_by"] == by_finance, closed
    assert msp.finance.get("/v1/periods/2026-03")[1] == closed

    status, reopened = client.post("/v1/periods/2026-03/reopen")
    assert status == 200 and reopened["closed"] is False and reopened["changed_by"] == token(token_id, None)
    assert people["finance"].get("/v1/periods/2026-03")[1]["changed_by"] == token(token_id, "Billing robot")
