"""The worked cases of shared/golden/tariffs.json through the HTTP API: create the profile,
assign it, record the session, adjust its extra minutes, read it back, lock it, read it again."""
from datetime import timedelta

import pytest

from .conftest import T0, iso

from golden import CASES, SURCHARGE_CASES


def test_the_golden_file_has_cases_of_both_types():
    assert {case["profile"]["type"] for case in CASES} == {"pay_per_use", "subscription"}
    assert any(case["expect"]["recorded"] is False for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_a_golden_case_through_the_api(msp, case):
    profile = {"name": "Golden", "profile_id": "golden", **case["profile"]}
    assert msp.admin.post("/v1/profiles", profile)[0] == 201
    assert msp.admin.put("/v1/groups/client", {"name": "Client"})[0] == 201
    assert msp.admin.put("/v1/groups/client/contract", {"profile_id": "golden"})[0] == 200
    if "started_at" in case:
        started_at, ended_at = case["started_at"], case["ended_at"]
    else:
        started_at, ended_at = iso(T0), iso(T0 + timedelta(seconds=case["connection_seconds"]))
    upload = {"session_id": "golden-1", "technician": "ann", "computer_id": "pc-1", "group_id": "client",
              "started_at": started_at, "ended_at": ended_at}
    status, answer = msp.agent.post("/v1/sessions", upload)
    expect = case["expect"]
    if not expect["recorded"]:
        assert (status, answer) == (200, {"recorded": False, "reason": "below_minimum_duration"})
        assert msp.technician.get("/v1/sessions/golden-1")[0] == 404
        return
    assert status == 201, answer
    if case.get("extra_minutes"):
        status, adjusted = msp.technician.patch("/v1/sessions/golden-1", {"extra_minutes": case["extra_minutes"]})
        assert status == 200, adjusted
    status, session = msp.technician.get("/v1/sessions/golden-1")
    assert status == 200, session
    figures = {name: session[name] for name in expect if name != "recorded"}
    assert figures == {name: value for name, value in expect.items() if name != "recorded"}
    assert session["extra_minutes"] == case.get("extra_minutes", 0)
    assert session["currency"] == case["profile"]["currency"]

    status, locked = msp.finance.post("/v1/sessions/golden-1/lock")
    assert status == 200 and locked["status"] == "accounted"
    assert {name: locked[name] for name in figures} == figures
    totals = msp.finance.get("/v1/groups/client/totals")[1]
    assert totals["accounted"]["billed_minutes"] == expect["billed_minutes"]
    assert totals["accounted"]["cost"] == (expect["cost"] or "0.00")


# ---------------------------------------------------------------- SPEC §10: surcharges


@pytest.mark.parametrize("case", SURCHARGE_CASES, ids=[case["name"] for case in SURCHARGE_CASES])
def test_a_golden_surcharge_case_through_a_recorded_session(msp, case):
    """Recorded, read (priced by the current contract, explained), locked: the lock freezes the
    figures and the explanation, and a later profile version changes neither."""
    profile = {"name": "Golden", "profile_id": "golden", **case["profile"]}
    assert msp.admin.post("/v1/profiles", profile)[0] == 201
    assert msp.admin.put("/v1/groups/client", {"name": "Client"})[0] == 201
    assert msp.admin.put("/v1/groups/client/contract", {"profile_id": "golden"})[0] == 200
    upload = {"session_id": "golden-1", "technician": "ann", "computer_id": "pc-1", "group_id": "client",
              "started_at": case["started_at"], "ended_at": case["ended_at"]}
    assert msp.agent.post("/v1/sessions", upload)[0] == 201
    if case.get("extra_minutes"):
        assert msp.technician.patch("/v1/sessions/golden-1", {"extra_minutes": case["extra_minutes"]})[0] == 200
    expect = {name: value for name, value in case["expect"].items() if name not in ("recorded", "multiplier")}
    status, session = msp.technician.get("/v1/sessions/golden-1")
    assert status == 200, session
    assert {name: session[name] for name in expect} == expect
    assert session["pricing"]["multiplier"] == case["expect"]["multiplier"]
    assert (session["pricing"]["profile_id"], session["pricing"]["profile_version"]) == ("golden", 1)
    assert session["pricing"]["lines"] and all(
        set(line) <= {"code", "values", "text", "amount", "minutes"} and line["code"] for line in session["pricing"]["lines"])

    status, locked = msp.finance.post("/v1/sessions/golden-1/lock")
    assert status == 200, locked
    assert locked["status"] == "accounted"
    assert {name: locked[name] for name in expect} == expect
    assert locked["pricing"] == session["pricing"]

    plain = {name: value for name, value in profile.items() if name not in ("surcharges", "holidays", "profile_id")}
    assert msp.admin.put("/v1/profiles/golden", plain)[0] == 200  # version 2: no surcharges any more
    assert msp.technician.get("/v1/sessions/golden-1") == (200, locked)


def test_a_lock_past_the_balance_explains_the_overage_it_billed(msp):
    profile = {"profile_id": "gold1", "name": "Gold 1h", "type": "subscription", "currency": "EUR", "min_duration_minutes": 0,
               "total_hours": 1, "amount": "60.00", "step_minutes": 15, "overage_step_cost": "30.00"}
    assert msp.admin.post("/v1/profiles", profile)[0] == 201
    assert msp.admin.put("/v1/groups/client", {"name": "Client"})[0] == 201
    assert msp.admin.put("/v1/groups/client/contract", {"profile_id": "gold1"})[0] == 200
    upload = {"session_id": "long", "technician": "ann", "computer_id": "pc-1", "group_id": "client",
              "started_at": "2026-10-06T09:00:00Z", "ended_at": "2026-10-06T10:30:00Z"}
    assert msp.agent.post("/v1/sessions", upload)[0] == 201
    status, locked = msp.finance.post("/v1/sessions/long/lock")
    assert status == 200, locked
    assert (locked["billed_minutes"], locked["covered_minutes"], locked["overage_minutes"], locked["cost"]) == (90, 60, 30, "60.00")
    assert locked["pricing"]["lines"] == [
        {"code": "balance_steps", "values": {"seconds": 5400, "step_minutes": 15, "minutes": 90},
         "text": "90 min in 15-min steps: 90 min", "minutes": 90},
        {"code": "covered_by_balance", "values": {"minutes": 60}, "text": "covered by the balance: 60 min", "minutes": 60},
        {"code": "overage", "values": {"minutes": 30, "count": 2, "step_minutes": 15, "step_cost": "30.00", "amount": "60.00"},
         "text": "overage 30 min: 2 × 15 min at 30.00: 60.00", "amount": "60.00", "minutes": 30},
    ]
    assert msp.technician.get("/v1/sessions/long") == (200, locked)
