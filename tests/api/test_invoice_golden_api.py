"""The golden invoice cases through the API: every case made of sessions is recorded, priced (the
profile's initial step set to each session's amount, a new version per session), locked, run and
issued; the numbering cases issue invoices one after the other from the case's settings."""
import json
from datetime import timedelta
from pathlib import Path

import pytest

from .conftest import STANDARD, T0, create_group, create_profile, record

CASES = json.loads((Path(__file__).resolve().parents[1] / "golden_invoices.json").read_text())
SESSION_CASES = [c for c in CASES if "events" in c and all(e["kind"] == "session" for e in c["events"])]
NUMBER_CASES = [c for c in CASES if "expect_numbers" in c]
PRICED = {**STANDARD, "min_duration_minutes": 0, "initial_step_minutes": 60, "step_minutes": 60, "step_cost": "0.00"}


def priced_session(tenant, session_id: str, amount: str, day: int, group_id: str = "acme") -> None:
    """A 10-minute session that costs `amount`: the profile's initial step is set to it first."""
    status, body = tenant.admin.put("/v1/profiles/golden", {**PRICED, "initial_step_cost": amount})
    assert status == 200, body
    record(tenant, session_id, 600, start=T0 + timedelta(days=day), group_id=group_id, computer_id=f"{group_id}-pc")
    status, locked = tenant.technician.post(f"/v1/sessions/{session_id}/lock")
    assert status == 200 and locked["cost"] == amount, locked


@pytest.mark.parametrize("case", SESSION_CASES, ids=[c["name"] for c in SESSION_CASES])
def test_golden_session_cases_through_the_api(msp, case):
    create_profile(msp, {**PRICED, "initial_step_cost": "1.00"}, profile_id="golden")
    create_group(msp, "acme", "golden", computers=["acme-pc"])
    billing = {"tax_rate": "0.00", **case["billing"]}
    assert msp.admin.put("/v1/groups/acme", {"name": "acme", "billing": billing})[0] == 200
    for day, event in enumerate(case["events"]):
        priced_session(msp, event["ref"], event["unit_amount"], day)
    status, run = msp.finance.post("/v1/invoice-runs", {"month": "2026-03"})
    assert status == 201, run
    (invoice,) = run["invoices"]
    got = [{k: l[k] for k in ("kind", "ref", "quantity", "unit_amount", "amount")} for l in invoice["lines"]]
    assert got == case["expect"]["lines"]
    assert [invoice[k] for k in ("subtotal", "tax", "total")] == [case["expect"][k] for k in ("subtotal", "tax", "total")]


@pytest.mark.parametrize("case", NUMBER_CASES, ids=[c["name"] for c in NUMBER_CASES])
def test_golden_numbering_through_the_api(msp, case):
    assert msp.admin.put("/v1/settings/invoicing", case["settings"])[0] == 200
    create_profile(msp, {**PRICED, "initial_step_cost": "10.00"}, profile_id="golden")
    for n in range(case["issue_count"]):
        create_group(msp, f"c{n}", "golden", computers=[f"c{n}-pc"])
        record(msp, f"s{n}", 600, start=T0, group_id=f"c{n}", computer_id=f"c{n}-pc")
        assert msp.technician.post(f"/v1/sessions/s{n}/lock")[0] == 200
    status, run = msp.finance.post("/v1/invoice-runs", {"month": "2026-03"})
    assert status == 201 and len(run["invoices"]) == case["issue_count"], run
    numbers = []
    for draft in run["invoices"]:
        status, issued = msp.finance.post(f"/v1/invoices/{draft['invoice_id']}/issue")
        assert status == 200, issued
        numbers.append(issued["number"])
    assert numbers == case["expect_numbers"]
