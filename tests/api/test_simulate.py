"""POST /v1/groups/{group_id}/simulate (SPEC §10, §12): a period's totals under another profile
beside the current ones, changing nothing."""
from .conftest import GOLD, STANDARD, T0, assert_invalid, create_group, create_profile, record


def snapshot(tenant):
    return (tenant.finance.get("/v1/groups/acme/totals")[1], tenant.finance.get("/v1/groups/acme/sessions")[1],
            tenant.finance.get("/v1/groups/acme/ledger")[1] if tenant.finance.get("/v1/groups/acme/ledger")[0] == 200 else None)


def test_a_pay_per_use_client_simulated_on_a_subscription_with_overage(msp):
    create_profile(msp, STANDARD, profile_id="standard")
    create_profile(msp, {**GOLD, "name": "Gold 1h", "total_hours": 1, "overage_step_cost": "12.00"}, profile_id="gold1")
    create_group(msp, "acme", "standard")
    record(msp, "s-1", 45 * 60, start=T0)  # 45 min: 20.00 + 6 × 5.00 = 50.00; 45 min of the hour
    record(msp, "s-2", 30 * 60, start=T0.replace(hour=11))  # 30 min: 35.00; 15 covered + 15 overage (12.00)
    assert msp.technician.post("/v1/sessions/s-1/lock")[0] == 200
    before = snapshot(msp)
    status, body = msp.finance.post("/v1/groups/acme/simulate", {"profile_id": "gold1", "from": "2026-03-01T00:00:00Z"})
    assert status == 200, body
    assert body["profile_id"] == "gold1"
    assert body["current"]["accounted"]["cost"] == "50.00" and body["current"]["to_account"]["cost"] == "35.00"
    simulated = body["simulated"]
    assert simulated["accounted"]["billed_minutes"] == 45 and simulated["accounted"]["cost"] == "0.00"
    assert simulated["to_account"]["billed_minutes"] == 30 and simulated["to_account"]["cost"] == "12.00"
    assert simulated["balance"]["used_minutes"] == 60 and simulated["balance"]["overage_minutes"] == 15
    assert simulated["balance"]["available_minutes"] == 0
    assert snapshot(msp) == before  # nothing changed


def test_simulate_refuses_what_it_cannot_price(msp, other_msp):
    create_profile(msp, STANDARD, profile_id="standard")
    create_group(msp, "acme", "standard")
    assert_invalid(msp.finance.post("/v1/groups/acme/simulate", {}), "profile_id")
    assert_invalid(msp.finance.post("/v1/groups/acme/simulate", {"profile_id": "standard", "to": "nope"}), "to")
    assert_invalid(msp.finance.post("/v1/groups/acme/simulate", {"profile_id": "standard", "colour": "red"}), "colour")
    assert msp.finance.post("/v1/groups/acme/simulate", {"profile_id": "ghost"})[0] == 404
    assert other_msp.finance.post("/v1/groups/acme/simulate", {"profile_id": "standard"})[0] == 404
    assert msp.technician.post("/v1/groups/acme/simulate", {"profile_id": "standard"})[0] == 403


def test_a_period_too_long_to_price_in_the_request_is_a_400_not_a_timeout(msp, short_timeout):
    create_profile(msp, STANDARD, profile_id="standard")
    create_group(msp, "acme", "standard")
    record(msp, "s-1", 45 * 60, start=T0)
    short_timeout["SimulateFunction"] = 3  # 2 s after the answer's margin: no time to price a session
    status, body = msp.finance.post("/v1/groups/acme/simulate", {"profile_id": "standard"})
    assert_invalid((status, body), "to")
    assert "shorter period" in body["error"]["message"]
