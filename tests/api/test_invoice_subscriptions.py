"""A subscription client's month through the API (the golden case "subscription assigned, a
recharge, two overage steps, covered sessions, 22% VAT", with real sessions): the subscription's
price at assignment, the recharge, the overage in steps and the covered sessions at 0.00 with the
minutes used and the balance left. Then unlock and closed periods, which guard what invoices hold."""
from datetime import datetime, timedelta, timezone

import pytest

from .conftest import GOLD, assert_error, close_at_its_end, create_group, create_profile, record

HOUR_PLAN = {**GOLD, "name": "Gold 1h", "total_hours": 1, "amount": "450.00", "step_minutes": 15, "overage_step_cost": "10.00"}


@pytest.fixture
def month_of_work(msp):
    """Client `acme` on 1 h for 450.00 (overage 10.00 per 15 min), Italian, 22% VAT: two 30-minute
    sessions use the hour, a 30-minute one is two overage steps, then a 225.00 recharge; all today."""
    create_profile(msp, HOUR_PLAN, profile_id="gold")
    create_group(msp, "acme", "gold", computers=["pc-1"])
    assert msp.admin.put("/v1/groups/acme", {"name": "acme", "billing": {"tax_rate": "22.00", "locale": "it"}})[0] == 200
    now = datetime.now(timezone.utc).replace(microsecond=0)
    start = max(now - timedelta(hours=3), now.replace(day=1, hour=0, minute=0, second=0))
    for n, session_id in enumerate(("s5", "s6", "s9")):
        record(msp, session_id, 1800, start=start + timedelta(minutes=31 * n))
        assert msp.technician.post(f"/v1/sessions/{session_id}/lock")[0] == 200
    assert msp.admin.post("/v1/groups/acme/recharges", {"hours": 1, "amount": "225.00"})[0] == 201
    return now.strftime("%Y-%m")


def run(tenant, month):
    status, body = tenant.finance.post("/v1/invoice-runs", {"month": month})
    assert status == 201, body
    return body["invoices"]


def test_the_golden_subscription_month_through_the_api(msp, month_of_work):
    (invoice,) = run(msp, month_of_work)
    recharge_id = msp.finance.get("/v1/groups/acme/ledger")[1]["entries"][-1]["block_id"]
    got = sorted((l["kind"], l["ref"], l["quantity"], l["unit_amount"], l["amount"]) for l in invoice["lines"])
    assert got == sorted([("subscription", "Gold 1h", "1", "450.00", "450.00"), ("covered", "s5", "1", "0.00", "0.00"),
                          ("covered", "s6", "1", "0.00", "0.00"), ("overage", "s9", "2", "10.00", "20.00"),
                          ("recharge", recharge_id, "1", "225.00", "225.00")])
    assert (invoice["subtotal"], invoice["tax"], invoice["total"]) == ("695.00", "152.90", "847.90")
    covered = {l["ref"]: l["description"] for l in invoice["lines"] if l["kind"] == "covered"}
    assert covered == {"s5": "Sessione s5 coperta dall'abbonamento: 30 min usati, 30 min rimanenti",
                       "s6": "Sessione s6 coperta dall'abbonamento: 30 min usati, 0 min rimanenti"}


def test_an_invoiced_session_cannot_be_unlocked_until_its_invoice_is_voided(msp, month_of_work):
    (invoice,) = run(msp, month_of_work)
    assert msp.finance.post(f"/v1/invoices/{invoice['invoice_id']}/issue")[0] == 200
    assert_error(msp.technician.post("/v1/sessions/s5/unlock"), 409, "session_invoiced")
    assert msp.finance.get("/v1/sessions/s5")[1]["status"] == "accounted"
    assert msp.admin.post(f"/v1/invoices/{invoice['invoice_id']}/void")[0] == 200
    status, session = msp.technician.post("/v1/sessions/s5/unlock")
    assert status == 200 and session["status"] == "to_account", session


def test_unlock_reverses_the_lock_in_the_balance_the_ledger_and_the_totals(msp, month_of_work):
    before = msp.finance.get("/v1/groups/acme/totals")[1]
    status, session = msp.technician.post("/v1/sessions/s6/unlock")
    assert status == 200 and session["status"] == "to_account" and session["locked_at"] is None
    after = msp.finance.get("/v1/groups/acme/totals")[1]
    assert after["accounted"]["sessions"] == before["accounted"]["sessions"] - 1
    assert after["to_account"]["sessions"] == before["to_account"]["sessions"] + 1
    assert after["balance"]["available_minutes"] == before["balance"]["available_minutes"] + 30
    entries = msp.finance.get("/v1/groups/acme/ledger")[1]["entries"]
    assert entries[-1]["kind"] == "reversal" and entries[-1]["minutes"] == 30 and entries[-1]["session_id"] == "s6"
    assert_error(msp.technician.post("/v1/sessions/s6/unlock"), 409, "not_locked")
    # locked again, it is billed again: the run lists it once, with the balance left by the new lock
    assert msp.technician.post("/v1/sessions/s6/lock")[0] == 200
    (invoice,) = run(msp, month_of_work)
    assert [l["ref"] for l in invoice["lines"] if l["kind"] == "covered"].count("s6") == 1


def test_a_draft_built_on_a_lock_since_undone_cannot_be_issued(msp, month_of_work):
    (invoice,) = run(msp, month_of_work)
    assert msp.technician.post("/v1/sessions/s5/unlock")[0] == 200
    assert_error(msp.finance.post(f"/v1/invoices/{invoice['invoice_id']}/issue"), 409, "event_already_invoiced")


def test_a_closed_month_refuses_unlocks_and_reopening_is_for_admins(msp, month_of_work, monkeypatch):
    assert_error(msp.technician.post(f"/v1/periods/{month_of_work}/close"), 403)
    assert_error(msp.finance.post(f"/v1/periods/{month_of_work}/close"), 409, "month_not_ended")  # the month is under way
    close_at_its_end(msp, month_of_work, monkeypatch)
    assert_error(msp.technician.post("/v1/sessions/s5/unlock"), 409, "period_closed")
    assert_error(msp.finance.post(f"/v1/periods/{month_of_work}/reopen"), 403)
    assert msp.admin.post(f"/v1/periods/{month_of_work}/reopen")[0] == 200
    assert msp.technician.post("/v1/sessions/s5/unlock")[0] == 200
    from billing_core import periods
    # both audited (the close at the month's end, the clock this test moved: their order is the stamps')
    assert sorted(e["action"] for e in periods.period_history(msp.tenant_id)) == ["period_closed", "period_reopened"]
    assert_error(msp.admin.post("/v1/periods/2026-13/close"), 400)


def test_a_close_racing_an_unlock_wins_in_the_unlocks_own_transaction(msp, month_of_work, monkeypatch):
    """The month closes after the unlock checked it: the unlock's transaction holds the period's
    condition, so it fails and changes nothing."""
    from billing_core import periods

    close_at_its_end(msp, month_of_work, monkeypatch)
    monkeypatch.setattr(periods, "ensure_open", lambda tenant_id, moment: (month_of_work, [month_of_work]))  # checked before the close
    before = msp.finance.get("/v1/groups/acme/totals")[1]
    assert_error(msp.technician.post("/v1/sessions/s5/unlock"), 409, "period_closed")
    assert msp.finance.get("/v1/sessions/s5")[1]["status"] == "accounted"
    assert msp.finance.get("/v1/groups/acme/totals")[1] == before


def test_ensure_open_reads_the_local_month_in_one_round_trip(msp):
    """23:30 UTC on 31 March is 1 April in Paris: closing April closes it there, not in UTC."""
    from datetime import datetime, timezone

    from billing_core import periods
    from billing_core.errors import Conflict

    from .test_invoices import dynamodb_calls

    late = datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc)
    assert msp.finance.post("/v1/periods/2026-04/close")[0] == 200
    assert periods.ensure_open(msp.tenant_id, late) == ("2026-03", ["2026-03"])  # UTC, the default time zone
    assert msp.admin.put("/v1/settings/invoicing", {"time_zone": "Europe/Paris"})[0] == 200
    with pytest.raises(Conflict) as refused:
        periods.ensure_open(msp.tenant_id, late)
    assert refused.value.code == "period_closed"
    calls = dynamodb_calls(lambda: periods.ensure_open(msp.tenant_id, datetime(2026, 3, 15, tzinfo=timezone.utc)))
    assert calls == ["GetItem"]  # the settings item: its time zone and its closed months together


def test_a_renewal_of_the_same_profile_carrying_the_balance_over_bills_no_new_subscription(msp):
    create_profile(msp, HOUR_PLAN, profile_id="gold")
    create_group(msp, "acme", "gold", computers=["pc-1"])
    until = (datetime.now(timezone.utc) + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, body = msp.admin.put("/v1/groups/acme/contract", {"profile_id": "gold", "valid_until": until, "balance": "carry_over"})
    assert status == 200, body
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    (invoice,) = run(msp, month)
    assert [(l["kind"], l["amount"]) for l in invoice["lines"]] == [("subscription", "450.00")]  # the first assignment only
    status, body = msp.admin.put("/v1/groups/acme/contract", {"profile_id": "gold", "valid_until": until, "balance": "close"})
    assert status == 200, body
    (invoice,) = run(msp, month)
    assert [(l["kind"], l["amount"]) for l in invoice["lines"]] == [("subscription", "450.00")] * 2  # a new one, billed


def test_a_move_to_another_profile_carrying_the_balance_over_bills_the_new_subscription(msp):
    create_profile(msp, HOUR_PLAN, profile_id="gold")
    create_profile(msp, {**HOUR_PLAN, "name": "Silver", "amount": "300.00"}, profile_id="silver")
    create_group(msp, "acme", "gold", computers=["pc-1"])
    status, body = msp.admin.put("/v1/groups/acme/contract", {"profile_id": "silver", "balance": "carry_over"})
    assert status == 200, body
    (invoice,) = run(msp, datetime.now(timezone.utc).strftime("%Y-%m"))
    assert sorted((l["ref"], l["amount"]) for l in invoice["lines"]) == [("Gold 1h", "450.00"), ("Silver", "300.00")]
