"""The product's main path end to end: profile → group → contract → upload → adjust → lock → totals → export."""


def test_a_session_is_recorded_adjusted_locked_totalled_and_exported(msp):
    status, profile = msp.admin.post("/v1/profiles", {
        "name": "Standard", "type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 2,
        "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00",
    })
    assert status == 201, profile
    assert profile["version"] == 1 and profile["initial_step_cost"] == "20.00"
    assert msp.admin.put("/v1/groups/acme", {"name": "Acme Ltd"})[0] == 201
    assert msp.admin.put("/v1/groups/acme/computers/pc-1", {"name": "Reception PC"})[0] == 200
    status, contract = msp.admin.put("/v1/groups/acme/contract", {"profile_id": profile["profile_id"]})
    assert status == 200, contract
    upload = {"session_id": "s-1", "technician": "ann", "computer_id": "pc-1",
              "started_at": "2026-03-02T09:00:00+01:00", "ended_at": "2026-03-02T08:22:00Z"}
    status, body = msp.agent.post("/v1/sessions", upload)
    assert status == 201, body
    assert body["session"]["group_id"] == "acme"
    assert body["session"]["cost"] == "30.00" and body["session"]["billed_minutes"] == 25
    assert msp.agent.post("/v1/sessions", upload) == (200, body)
    status, adjusted = msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": -10, "notes": "printer"})
    assert status == 200, adjusted
    assert adjusted["cost"] == "20.00"
    status, locked = msp.technician.post("/v1/sessions/s-1/lock")
    assert status == 200, locked
    assert locked["status"] == "accounted" and locked["cost"] == "20.00"
    assert msp.technician.patch("/v1/sessions/s-1", {"notes": "x"})[0] == 409
    status, totals = msp.finance.get("/v1/groups/acme/totals")
    assert status == 200, totals
    assert totals["accounted"]["cost"] == "20.00" and totals["accounted"]["sessions"] == 1
    status, export = msp.finance.post("/v1/groups/acme/exports", {"delimiter": ";"})
    assert status == 201, export
    assert export["rows"] == 1 and export["key"].startswith(f"tenants/{msp.tenant_id}/exports/")
