"""The audit history: every change to a session or a contract is kept, with who, when, before and after."""

PAY_PER_USE = {
    "name": "Standard", "type": "pay_per_use", "currency": "EUR", "min_duration_minutes": 0,
    "initial_step_minutes": 15, "initial_step_cost": "20.00", "step_minutes": 5, "step_cost": "5.00",
}
SUBSCRIPTION = {
    "name": "Ten hours", "type": "subscription", "currency": "EUR", "min_duration_minutes": 0,
    "total_hours": 10, "amount": "400.00", "step_minutes": 15,
}
UPLOAD = {"session_id": "s-1", "technician": "ann", "computer_id": "pc-1", "group_id": "acme",
          "started_at": "2026-03-02T09:00:00Z", "ended_at": "2026-03-02T09:20:00Z", "notes": "vpn"}


def _group_with(msp, profile):
    profile_id = msp.admin.post("/v1/profiles", profile)[1]["profile_id"]
    msp.admin.put("/v1/groups/acme", {"name": "Acme"})
    msp.admin.put("/v1/groups/acme/contract", {"profile_id": profile_id})
    return profile_id


def test_a_session_history_tells_record_adjustments_and_lock_in_order(msp):
    _group_with(msp, PAY_PER_USE)
    msp.agent.post("/v1/sessions", UPLOAD)
    msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": 10})
    msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": 5, "notes": "vpn + printer"})
    msp.finance.post("/v1/sessions/s-1/lock")

    status, body = msp.technician.get("/v1/sessions/s-1/history")
    assert status == 200, body
    actions = [entry["action"] for entry in body["history"]]
    assert actions == ["recorded", "adjusted", "adjusted", "locked"]
    recorded, first, second, locked = body["history"]
    assert recorded["role"] == "agent" and recorded["changes"]["notes"] == {"before": None, "after": "vpn"}
    assert first["role"] == "technician" and first["changes"] == {"extra_minutes": {"before": 0, "after": 10}}
    assert second["changes"] == {
        "extra_minutes": {"before": 10, "after": 5},
        "notes": {"before": "vpn", "after": "vpn + printer"},
    }
    assert locked["role"] == "finance"
    assert locked["changes"]["status"] == {"before": "to_account", "after": "accounted"}
    assert locked["changes"]["cost"] == {"before": None, "after": "30.00"}
    assert all(entry["actor"]["kind"] == "token" and entry["actor"]["id"].startswith("tok_") for entry in body["history"])


def test_an_adjustment_that_changes_nothing_adds_no_entry(msp):
    _group_with(msp, PAY_PER_USE)
    msp.agent.post("/v1/sessions", UPLOAD)
    msp.technician.patch("/v1/sessions/s-1", {"notes": "vpn"})
    assert [e["action"] for e in msp.technician.get("/v1/sessions/s-1/history")[1]["history"]] == ["recorded"]


def test_a_group_history_tells_assignments_recharges_and_profile_versions(msp):
    profile_id = _group_with(msp, SUBSCRIPTION)
    msp.admin.post("/v1/groups/acme/recharges", {"hours": 7.5, "amount": "300.00"})
    msp.admin.put(f"/v1/profiles/{profile_id}", {**SUBSCRIPTION, "step_minutes": 30})
    other = msp.admin.post("/v1/profiles", PAY_PER_USE)[1]["profile_id"]
    refused = msp.admin.put("/v1/groups/acme/contract", {"profile_id": other})
    assert refused[0] == 409 and refused[1]["error"]["code"] == "balance_open", refused  # 1,050 minutes paid for
    assert msp.admin.put("/v1/groups/acme/contract", {"profile_id": other, "balance": "close"})[0] == 200

    status, body = msp.finance.get("/v1/groups/acme/history")
    assert status == 200, body
    actions = [entry["action"] for entry in body["history"]]
    assert actions == ["contract_assigned", "recharged", "profile_version_applied", "contract_assigned"]
    assigned, recharged, applied, reassigned = body["history"]
    assert assigned["changes"]["profile_id"] == {"before": None, "after": profile_id}
    assert recharged["changes"]["recharged_minutes"] == {"before": 0, "after": 450}
    assert recharged["changes"]["recharged_amount"] == {"before": "0.00", "after": "300.00"}
    assert applied["changes"]["profile_version"] == {"before": 1, "after": 2}
    assert applied["changes"]["tariff"]["after"]["step_minutes"] == 30
    assert reassigned["changes"]["profile_id"] == {"before": profile_id, "after": other}


def test_history_of_another_tenant_is_not_found(msp, other_msp):
    _group_with(msp, PAY_PER_USE)
    msp.agent.post("/v1/sessions", UPLOAD)
    assert other_msp.admin.get("/v1/sessions/s-1/history")[0] == 404
    assert other_msp.admin.get("/v1/groups/acme/history")[0] == 404
    assert msp.agent.get("/v1/sessions/s-1/history")[0] == 403
