"""Subscription balances (SPEC §3): one per group contract, deducted by locks in the same
transaction, may go negative, topped up by POST /v1/groups/{group_id}/recharges."""
import pytest

from .conftest import GOLD, T0, assert_error, assert_invalid, create_group, create_profile, record

FULL = {"total_minutes": 600, "recharged_minutes": 0, "used_minutes": 0, "carried_over_minutes": 0, "expired_minutes": 0, "overage_minutes": 0, "available_minutes": 600, "amount": "500.00"}


def balance(tenant, group_id):
    status, totals = tenant.finance.get(f"/v1/groups/{group_id}/totals")
    assert status == 200, totals
    return totals["balance"]


def test_two_groups_on_one_subscription_never_share_a_balance(msp, gold):
    record(msp, "s-acme", 960)  # 16 min → 2 steps = 30 min
    record(msp, "s-globex", 3660, group_id="globex", computer_id="pc-9")  # 61 min → 5 steps = 75 min
    assert balance(msp, "acme") == FULL and balance(msp, "globex") == FULL
    status, locked = msp.technician.post("/v1/sessions/s-acme/lock")
    assert (status, locked["billed_minutes"], locked["cost"]) == (200, 30, None)
    assert balance(msp, "acme") == {**FULL, "used_minutes": 30, "available_minutes": 570}
    assert balance(msp, "globex") == FULL
    msp.technician.post("/v1/sessions/s-globex/lock")
    assert balance(msp, "globex") == {**FULL, "used_minutes": 75, "available_minutes": 525}
    assert balance(msp, "acme") == {**FULL, "used_minutes": 30, "available_minutes": 570}


def test_an_overrun_goes_negative_and_a_recharge_tops_it_up(msp, gold):
    record(msp, "s-long", 11 * 3600)  # 660 minutes of a 600-minute subscription
    msp.finance.post("/v1/sessions/s-long/lock")
    assert balance(msp, "acme") == {**FULL, "used_minutes": 660, "available_minutes": -60}
    status, recharge = msp.admin.post("/v1/groups/acme/recharges", {"hours": 7.5, "amount": "300.00"})
    assert status == 201, recharge
    assert (recharge["group_id"], recharge["hours"], recharge["amount"]) == ("acme", 7.5, "300.00")
    expected = {"total_minutes": 600, "recharged_minutes": 450, "used_minutes": 660, "carried_over_minutes": 0, "expired_minutes": 0, "overage_minutes": 0, "available_minutes": 390, "amount": "800.00"}
    assert recharge["balance"] == expected
    assert balance(msp, "acme") == expected
    assert balance(msp, "globex") == FULL


def test_recharges_add_up(msp, gold):
    msp.admin.post("/v1/groups/acme/recharges", {"hours": 2, "amount": "100.00"})
    status, second = msp.admin.post("/v1/groups/acme/recharges", {"hours": "0.25", "amount": 12.5})
    assert status == 201
    assert second["balance"] == {"total_minutes": 600, "recharged_minutes": 135, "used_minutes": 0,
                                 "carried_over_minutes": 0, "expired_minutes": 0, "overage_minutes": 0,
                                 "available_minutes": 735, "amount": "612.50"}


@pytest.mark.parametrize("body, field", [
    ({"hours": 0.01, "amount": "1.00"}, "hours"),
    ({"hours": -1, "amount": "1.00"}, "hours"),
    ({"hours": "seven", "amount": "1.00"}, "hours"),
    ({"hours": True, "amount": "1.00"}, "hours"),
    ({"amount": "1.00"}, "hours"),
    ({"hours": 1}, "amount"),
    ({"hours": 1, "amount": "1.001"}, "amount"),
    ({"hours": 1, "amount": "-5.00"}, "amount"),
    ({"hours": 1, "amount": "1000000000.00"}, "amount"),
    ({"hours": 1, "amount": "1.00", "note": "x"}, "note"),
])
def test_a_bad_recharge_is_a_400_naming_the_field_and_adds_nothing(msp, gold, body, field):
    assert_invalid(msp.admin.post("/v1/groups/acme/recharges", body), field)
    assert balance(msp, "acme") == FULL


def test_recharging_a_pay_per_use_or_uncontracted_group_is_a_409(msp, acme):
    assert_error(msp.admin.post("/v1/groups/acme/recharges", {"hours": 1, "amount": "1.00"}), 409, "not_subscription")
    create_group(msp, "newco")
    assert_error(msp.admin.post("/v1/groups/newco/recharges", {"hours": 1, "amount": "1.00"}), 409, "no_contract")


def test_recharging_an_unknown_or_another_tenants_group_is_a_404(msp, other_msp):
    create_profile(other_msp, GOLD, profile_id="gold")
    create_group(other_msp, "theirs", "gold")
    assert_error(msp.admin.post("/v1/groups/theirs/recharges", {"hours": 1, "amount": "1.00"}), 404, "not_found")
    assert_error(msp.admin.post("/v1/groups/nowhere/recharges", {"hours": 1, "amount": "1.00"}), 404, "not_found")
    assert balance(other_msp, "theirs") == FULL


def test_reassigning_the_same_subscription_keeps_the_balance(msp, gold):
    record(msp, "s-1", 960, start=T0)
    msp.technician.post("/v1/sessions/s-1/lock")
    assert msp.admin.put("/v1/groups/acme/contract", {"profile_id": "gold"})[1]["balance"]["used_minutes"] == 30
    assert balance(msp, "acme")["available_minutes"] == 570
