"""Rate changes (SPEC §3): a to_account session is priced by its group's current contract and the
latest profile version; a lock freezes cost, minutes, profile_id and profile_version."""
from .conftest import GOLD, STANDARD, T0, create_group, create_profile, record

FROZEN = ("status", "total_seconds", "billed_minutes", "cost", "currency", "profile_id", "profile_version", "locked_at")
HOURLY = {"name": "Hourly", "type": "pay_per_use", "currency": "USD", "min_duration_minutes": 0,
          "initial_step_minutes": 0, "initial_step_cost": "0.00", "step_minutes": 60, "step_cost": "50.00"}


def frozen(session):
    return {name: session[name] for name in FROZEN}


def test_a_profile_update_reprices_to_account_sessions_only(msp, acme):
    assert record(msp, "s-open", 1320)["cost"] == "30.00"  # 15 min 20.00 + 2 steps of 5.00
    record(msp, "s-locked", 1320)
    status, locked = msp.technician.post("/v1/sessions/s-locked/lock")
    assert status == 200 and frozen(locked) == {**frozen(locked), "cost": "30.00", "billed_minutes": 25,
                                                "profile_id": "standard", "profile_version": 1, "status": "accounted"}

    status, profile = msp.admin.put("/v1/profiles/standard", {**STANDARD, "initial_step_minutes": 10, "step_cost": "7.00"})
    assert (status, profile["version"]) == (200, 2)

    status, open_session = msp.technician.get("/v1/sessions/s-open")
    assert status == 200
    # 10 min 20.00 + ceil(12/5) = 3 steps of 7.00
    assert (open_session["cost"], open_session["billed_minutes"], open_session["profile_version"]) == ("41.00", 25, 2)
    assert msp.technician.get("/v1/sessions/s-locked") == (200, locked)
    status, page = msp.finance.get("/v1/groups/acme/sessions")
    assert {s["session_id"]: s["cost"] for s in page["sessions"]} == {"s-open": "41.00", "s-locked": "30.00"}
    totals = msp.finance.get("/v1/groups/acme/totals")[1]
    assert (totals["to_account"]["cost"], totals["accounted"]["cost"]) == ("41.00", "30.00")
    assert totals["contract"]["profile_version"] == 2

    # locking now freezes version 2's price
    status, relocked = msp.technician.post("/v1/sessions/s-open/lock")
    assert (relocked["cost"], relocked["profile_version"], relocked["status"]) == ("41.00", 2, "accounted")


def test_a_reassignment_reprices_to_account_sessions_only(msp, acme):
    create_profile(msp, HOURLY, profile_id="hourly")
    record(msp, "s-open", 3660)
    record(msp, "s-locked", 3660)
    status, locked = msp.finance.post("/v1/sessions/s-locked/lock")
    assert (locked["cost"], locked["billed_minutes"], locked["currency"]) == ("70.00", 65, "EUR")

    status, contract = msp.admin.put("/v1/groups/acme/contract", {"profile_id": "hourly"})
    assert (status, contract["profile_id"], contract["currency"]) == (200, "hourly", "USD")

    open_session = msp.finance.get("/v1/sessions/s-open")[1]
    assert {k: open_session[k] for k in ("cost", "billed_minutes", "currency", "profile_id", "profile_version")} == {
        "cost": "100.00", "billed_minutes": 120, "currency": "USD", "profile_id": "hourly", "profile_version": 1}
    assert msp.finance.get("/v1/sessions/s-locked") == (200, locked)

    # and back: the open session follows again, the locked one never moves
    msp.admin.put("/v1/groups/acme/contract", {"profile_id": "standard"})
    assert msp.finance.get("/v1/sessions/s-open")[1]["cost"] == "70.00"
    assert msp.finance.get("/v1/sessions/s-locked") == (200, locked)


def test_a_reassignment_to_a_subscription_drops_the_cost_and_uses_steps(msp, acme):
    create_profile(msp, GOLD, profile_id="gold")
    record(msp, "s-1", 960)
    msp.admin.put("/v1/groups/acme/contract", {"profile_id": "gold"})
    session = msp.finance.get("/v1/sessions/s-1")[1]
    assert (session["cost"], session["billed_minutes"], session["profile_id"]) == (None, 30, "gold")


def test_a_profile_update_reprices_every_group_on_it(msp, acme):
    create_group(msp, "globex", "standard", computers=["pc-9"])
    record(msp, "s-acme", 1320)
    record(msp, "s-globex", 1320, group_id="globex", computer_id="pc-9")
    msp.admin.put("/v1/profiles/standard", {**STANDARD, "initial_step_cost": "25.00"})
    assert msp.finance.get("/v1/sessions/s-acme")[1]["cost"] == "35.00"
    assert msp.finance.get("/v1/sessions/s-globex")[1]["cost"] == "35.00"


def test_a_session_of_a_group_without_contract_is_kept_unpriced_then_priced(msp):
    create_profile(msp, profile_id="standard")
    create_group(msp, "newco", computers=["pc-n"])
    session = record(msp, "s-1", 60, group_id=None, computer_id="pc-n")  # under any minimum: nothing to compare with
    assert {k: session[k] for k in ("group_id", "cost", "billed_minutes", "currency", "profile_id", "profile_version", "total_seconds")} == {
        "group_id": "newco", "cost": None, "billed_minutes": None, "currency": None,
        "profile_id": None, "profile_version": None, "total_seconds": 60}
    msp.admin.put("/v1/groups/newco/contract", {"profile_id": "standard"})
    session = msp.finance.get("/v1/sessions/s-1")[1]
    assert (session["cost"], session["billed_minutes"], session["profile_id"], session["profile_version"]) == ("20.00", 15, "standard", 1)


def test_a_profile_never_changes_type_or_currency(msp, acme):
    record(msp, "s-1", 1320, start=T0)
    before = msp.technician.get("/v1/sessions/s-1")[1]
    for change, field in ((GOLD, "type"), ({**STANDARD, "currency": "USD"}, "currency")):
        status, body = msp.admin.put("/v1/profiles/standard", change)
        assert (status, body["error"]["code"]) == (409, "immutable_field"), body
        assert body["error"]["message"].startswith(f"{field}:"), body
    assert msp.admin.get("/v1/profiles/standard")[1]["version"] == 1
    assert msp.technician.get("/v1/sessions/s-1") == (200, before)  # still priced as pay per use, in EUR
