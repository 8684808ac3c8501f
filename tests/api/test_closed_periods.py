"""A closed month takes no more changes to what it bills: uploads, adjusts, locks and lock-alls of
sessions started in it, and recharges and assignments made while it is closed, answer 409
`period_closed` naming the month, nothing changed; a close racing a write fails the write in its
own transaction. Months are the tenant's (its invoicing time zone)."""
import json
import unittest.mock
from datetime import datetime, timedelta, timezone

import pytest
from botocore.client import BaseClient

from .conftest import GOLD, T0, assert_error, close_at_its_end, create_group, create_profile, record, upload

MARCH, APRIL = "2026-03", "2026-04"
IN_APRIL = datetime(2026, 4, 6, 9, 0, tzinfo=timezone.utc)


def close(tenant, month: str) -> None:
    status, body = tenant.finance.post(f"/v1/periods/{month}/close")
    assert status == 200 and body["closed"] is True, body


def assert_closed(answer, month: str) -> None:
    assert_error(answer, 409, "period_closed")
    assert month in answer[1]["error"]["message"], answer


def test_an_upload_into_a_closed_month_is_refused_and_a_replay_of_one_recorded_before_is_not(msp, acme):
    first = upload("s-early", start=T0)
    assert msp.agent.post("/v1/sessions", first)[0] == 201
    close(msp, MARCH)
    assert_closed(msp.agent.post("/v1/sessions", upload("s-late", start=T0 + timedelta(days=3))), MARCH)
    assert_error(msp.finance.get("/v1/sessions/s-late"), 404)
    status, again = msp.agent.post("/v1/sessions", first)  # the agent's retry of what was recorded before the close
    assert status == 200 and again["session"]["session_id"] == "s-early", again
    # a batch: the session in the closed month is refused, the one in April is recorded
    status, body = msp.agent.post("/v1/sessions/batch", {"sessions": [upload("s-m", start=T0 + timedelta(days=4)),
                                                                      upload("s-a", start=IN_APRIL)]})
    assert status == 200, body
    refused, recorded = body["results"]
    assert refused["recorded"] is False and refused["error"]["code"] == "period_closed", refused
    assert recorded["recorded"] is True and recorded["session"]["session_id"] == "s-a"
    totals = msp.finance.get("/v1/groups/acme/totals", query="from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z")[1]
    assert totals["to_account"]["sessions"] == 1  # s-early only


def test_the_month_is_the_tenants_own(msp, acme):
    """23:30 UTC on 31 March is 1 April in Paris: with April closed there, it is refused."""
    assert msp.admin.put("/v1/settings/invoicing", {"time_zone": "Europe/Paris"})[0] == 200
    close(msp, APRIL)
    late = datetime(2026, 3, 31, 23, 30, tzinfo=timezone.utc)
    assert_closed(msp.agent.post("/v1/sessions", upload("s-1", start=late)), APRIL)
    assert msp.agent.post("/v1/sessions", upload("s-2", start=late - timedelta(hours=2)))[0] == 201  # 31 March in Paris


def test_adjusting_a_session_of_a_closed_month_is_refused(msp, acme):
    record(msp, "s-1", start=T0)
    close(msp, MARCH)
    assert_closed(msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": 10}), MARCH)
    assert_closed(msp.technician.patch("/v1/sessions/s-1", {"notes": "printer"}), MARCH)
    session = msp.finance.get("/v1/sessions/s-1")[1]
    assert (session["extra_minutes"], session["notes"], session["cost"]) == (0, "", "30.00"), session
    assert msp.admin.post(f"/v1/periods/{MARCH}/reopen")[0] == 200
    assert msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": 10})[0] == 200


def test_locking_a_session_of_a_closed_month_is_refused(msp, acme):
    record(msp, "s-1", start=T0)
    close(msp, MARCH)
    assert_closed(msp.technician.post("/v1/sessions/s-1/lock"), MARCH)
    assert msp.finance.get("/v1/sessions/s-1")[1]["status"] == "to_account"


def test_a_lock_all_over_a_closed_month_locks_nothing(msp, acme):
    """February is open, March closed: the lock-all that covers both refuses before locking
    February's session; one from April on is not concerned."""
    record(msp, "s-feb", start=T0 - timedelta(days=10))
    record(msp, "s-mar", start=T0)
    record(msp, "s-apr", start=IN_APRIL)
    close(msp, MARCH)
    assert_closed(msp.finance.post("/v1/groups/acme/lock-all", {}), MARCH)
    keyed = msp.finance.call("POST", "/v1/groups/acme/lock-all", {}, headers={"Idempotency-Key": "month-end"})
    assert_closed(keyed, MARCH)  # refused before its job is made: a retry with the key is refused again, not resumed
    assert_closed(msp.finance.call("POST", "/v1/groups/acme/lock-all", {}, headers={"Idempotency-Key": "month-end"}), MARCH)
    assert [msp.finance.get(f"/v1/sessions/{s}")[1]["status"] for s in ("s-feb", "s-mar", "s-apr")] == ["to_account"] * 3
    status, body = msp.finance.post("/v1/groups/acme/lock-all", {"from": "2026-04-01T00:00:00Z"})
    assert status == 200 and body["locked"] == 1, body
    status, body = msp.finance.post("/v1/groups/acme/lock-all", {"to": "2026-03-01T00:00:00Z"})
    assert status == 200 and body["locked"] == 1, body  # February


@pytest.fixture
def subscribed(msp):
    create_profile(msp, GOLD, profile_id="gold")
    create_group(msp, "acme", "gold", computers=["pc-1"])
    return datetime.now(timezone.utc).strftime("%Y-%m")


def test_a_recharge_while_the_current_month_is_closed_is_refused(msp, subscribed, monkeypatch):
    before = msp.finance.get("/v1/groups/acme/ledger")[1]["entries"]
    close_at_its_end(msp, subscribed, monkeypatch)
    assert_closed(msp.admin.post("/v1/groups/acme/recharges", {"hours": 1, "amount": "50.00"}), subscribed)
    assert msp.finance.get("/v1/groups/acme/ledger")[1]["entries"] == before


def test_an_assignment_while_the_current_month_is_closed_is_refused(msp, subscribed, monkeypatch):
    create_profile(msp, profile_id="standard")
    close_at_its_end(msp, subscribed, monkeypatch)
    assert_closed(msp.admin.put("/v1/groups/acme/contract", {"profile_id": "standard", "balance": "close"}), subscribed)
    (contract, *_) = msp.finance.get("/v1/groups/acme/contracts")[1]["contracts"]
    assert contract["profile_id"] == "gold" and contract["closed_at"] is None


def _read_before_the_close(monkeypatch, module, name):
    """The write's read happens before the close: it sees the month open, once."""
    real = getattr(module, name)
    calls = []

    def before_the_close(*args, **kwargs):
        *found, calendar = real(*args, **kwargs)
        calls.append(calendar)
        return (*found, None) if len(calls) == 1 else (*found, calendar)

    monkeypatch.setattr(module, name, before_the_close)
    return calls


def test_a_close_racing_a_lock_fails_the_locks_own_transaction(msp, acme, monkeypatch):
    from billing_core.dal import periods

    record(msp, "s-1", start=T0)
    close(msp, MARCH)
    calls = _read_before_the_close(monkeypatch, periods, "contract_and_calendar")
    assert_closed(msp.technician.post("/v1/sessions/s-1/lock"), MARCH)
    assert len(calls) == 2  # the lock's transaction failed on the period, then its read again saw it closed
    monkeypatch.undo()
    assert msp.finance.get("/v1/sessions/s-1")[1]["status"] == "to_account"


def test_a_close_racing_an_upload_fails_the_uploads_own_transaction(msp, acme, monkeypatch):
    from billing_core.dal import recording

    close(msp, MARCH)
    _read_before_the_close(monkeypatch, recording, "booking")
    assert_closed(msp.agent.post("/v1/sessions", upload("s-1", start=T0)), MARCH)
    monkeypatch.undo()
    assert_error(msp.finance.get("/v1/sessions/s-1"), 404)


def test_closing_a_month_before_any_invoice_setting_leaves_them_at_their_defaults(msp):
    """The closed months are kept on the settings item: a close that makes it leaves the rest as if unset."""
    close(msp, MARCH)
    status, settings = msp.admin.get("/v1/settings/invoicing")
    assert status == 200, settings
    assert (settings["prefix"], settings["next_number"], settings["time_zone"]) == ("INV-", 1, "UTC")
    assert msp.admin.put("/v1/settings/invoicing", {"time_zone": "Europe/Paris"})[0] == 200
    assert msp.admin.post(f"/v1/periods/{MARCH}/reopen")[0] == 200
    assert msp.admin.get("/v1/settings/invoicing")[1]["time_zone"] == "Europe/Paris"


def test_a_month_under_way_cannot_be_closed_and_its_writes_hold_no_period_condition(msp, acme):
    """Closing is for months that have ended (in the tenant's time zone): so the day's uploads and
    locks of the month under way need no condition on the tenant's month item, on which every one
    of them would otherwise contend (DynamoDB fails one of two transactions on one item)."""
    from billing_core import fields

    start = fields.utc_now().replace(microsecond=0) - timedelta(minutes=11)  # a session that ended a minute ago
    month = start.strftime("%Y-%m")
    status, body = msp.finance.post(f"/v1/periods/{month}/close")
    assert (status, body["error"]["code"]) == (409, "month_not_ended"), body
    assert msp.finance.get(f"/v1/periods/{month}")[1]["closed"] is False
    sent = []
    original = BaseClient._make_api_call

    def spy(client, operation, params):
        if operation == "TransactWriteItems":
            sent.append(params)
        return original(client, operation, params)

    with unittest.mock.patch.object(BaseClient, "_make_api_call", spy):
        record(msp, "today", 600, start=start)
        assert msp.technician.post("/v1/sessions/today/lock")[0] == 200
    assert len(sent) == 2
    assert not [item for params in sent for item in params["TransactItems"] if "ConditionCheck" in item
                and "#PERIODS" in json.dumps(item["ConditionCheck"]["Key"])]
