"""POST /v1/groups/{group_id}/lock-all: finance locks every to_account session of a search, across
query pages and in transactions DynamoDB accepts, and learns {locked, billed_minutes, cost}."""
from datetime import timedelta

import pytest

from .conftest import T0, assert_error, assert_invalid, create_group, iso, record, record_many, upload


def statuses(tenant, group_id="acme"):
    page = tenant.admin.get(f"/v1/groups/{group_id}/sessions", query="limit=1000")[1]
    assert page["next_cursor"] is None
    return {s["session_id"]: s["status"] for s in page["sessions"]}


def test_lock_all_locks_every_session_across_pages_and_transactions(msp, acme, fast_transactions, query_pages):
    # 260 sessions of 22 minutes (25 billed, 30.00), ~500 bytes each: several 64 KB query pages
    items = [upload(f"s-{n:03d}", 1320, start=T0 + timedelta(minutes=n), notes="n" * 150) for n in range(260)]
    record_many(msp, items)
    record(msp, "s-early", 1320, start=T0 - timedelta(days=1))
    assert msp.finance.post("/v1/sessions/s-000/lock")[0] == 200  # already accounted: not counted again
    query_pages.clear()
    status, answer = msp.finance.post("/v1/groups/acme/lock-all", {"from": iso(T0)})
    assert status == 200, answer
    assert len(query_pages) >= 3 and query_pages[-1] is False, query_pages  # it read every page
    assert answer == {"locked": 259, "billed_minutes": 259 * 25, "cost": "7770.00", "costs": [{"currency": "EUR", "amount": "7770.00"}]}
    after = statuses(msp)
    assert after.pop("s-early") == "to_account"
    assert set(after.values()) == {"accounted"} and len(after) == 260
    totals = msp.finance.get("/v1/groups/acme/totals", query=f"from={iso(T0)}")[1]
    assert totals["accounted"] == {"sessions": 260, "total_seconds": 260 * 1320, "billed_minutes": 260 * 25, "cost": "7800.00",
                                   "costs": [{"currency": "EUR", "amount": "7800.00"}]}
    assert msp.finance.post("/v1/groups/acme/lock-all", {"from": iso(T0)}) == (200, {"locked": 0, "billed_minutes": 0, "cost": "0.00", "costs": []})


@pytest.fixture
def day(msp, acme):
    """Six sessions over a day, by ann and bob."""
    record_many(msp, [
        upload("s-08", 1320, start=T0 - timedelta(hours=1), technician="ann"),   # 08:00 30.00
        upload("s-09", 900, start=T0, technician="bob"),                         # 09:00 20.00
        upload("s-10", 1800, start=T0 + timedelta(hours=1), technician="ann"),   # 10:00 35.00
        upload("s-11", 3660, start=T0 + timedelta(hours=2), technician="bob"),   # 11:00 70.00
        upload("s-12", 300, start=T0 + timedelta(hours=3), technician="ann"),    # 12:00 20.00
        upload("s-13", 960, start=T0 + timedelta(hours=4), technician="bob"),    # 13:00 25.00
    ])


@pytest.mark.parametrize("body, locked, answer", [
    ({"from": "2026-03-02T09:00:00Z", "to": "2026-03-02T12:00:00Z"}, {"s-09", "s-10", "s-11"},
     {"locked": 3, "billed_minutes": 15 + 30 + 65, "cost": "125.00", "costs": [{"currency": "EUR", "amount": "125.00"}]}),
    ({"technician": "bob"}, {"s-09", "s-11", "s-13"}, {"locked": 3, "billed_minutes": 15 + 65 + 20, "cost": "115.00", "costs": [{"currency": "EUR", "amount": "115.00"}]}),
    ({"technician": "ann", "to": "2026-03-02T10:00:00+01:00"}, {"s-08"}, {"locked": 1, "billed_minutes": 25, "cost": "30.00", "costs": [{"currency": "EUR", "amount": "30.00"}]}),
    ({"from": "2026-03-02T13:00:00.000001Z"}, set(), {"locked": 0, "billed_minutes": 0, "cost": "0.00", "costs": []}),
    ({}, {"s-08", "s-09", "s-10", "s-11", "s-12", "s-13"}, {"locked": 6, "billed_minutes": 170, "cost": "200.00", "costs": [{"currency": "EUR", "amount": "200.00"}]}),
])
def test_lock_all_honours_from_to_and_technician(msp, day, body, locked, answer):
    assert msp.finance.post("/v1/groups/acme/lock-all", body) == (200, answer)
    assert {s for s, status in statuses(msp).items() if status == "accounted"} == locked


def test_lock_all_without_a_body_locks_everything(msp, day):
    assert msp.admin.call("POST", "/v1/groups/acme/lock-all")[1]["locked"] == 6


def test_lock_all_of_a_subscription_deducts_the_balance_once(msp, gold):
    record_many(msp, [upload(f"s-{n}", 960, start=T0 + timedelta(hours=n)) for n in range(4)])  # 30 min each
    record(msp, "s-globex", 960, group_id="globex", computer_id="pc-9")
    assert msp.finance.post("/v1/sessions/s-0/lock")[0] == 200
    assert msp.finance.post("/v1/groups/acme/lock-all", {}) == (200, {"locked": 3, "billed_minutes": 90, "cost": None, "costs": []})
    balance = msp.finance.get("/v1/groups/acme/totals")[1]["balance"]
    assert (balance["used_minutes"], balance["available_minutes"]) == (120, 480)
    assert msp.finance.get("/v1/groups/globex/totals")[1]["balance"]["used_minutes"] == 0


@pytest.mark.parametrize("body, field", [
    ({"from": "monday"}, "from"), ({"to": "2026-03-02"}, "to"), ({"technician": 7}, "technician"),
    ({"status": "to_account"}, "status"), ({"from": "2026-03-03T00:00:00Z", "to": "2026-03-02T00:00:00Z"}, "to"),
])
def test_a_bad_lock_all_is_a_400_naming_the_field_and_locks_nothing(msp, day, body, field):
    assert_invalid(msp.finance.post("/v1/groups/acme/lock-all", body), field)
    assert set(statuses(msp).values()) == {"to_account"}


def test_lock_all_of_another_tenants_or_an_unknown_group_is_a_404(msp, other_msp, day):
    assert_error(other_msp.finance.post("/v1/groups/acme/lock-all", {}), 404, "not_found")
    assert_error(msp.finance.post("/v1/groups/nowhere/lock-all", {}), 404, "not_found")
    assert set(statuses(msp).values()) == {"to_account"}


def test_lock_all_of_a_group_without_contract_is_a_409(msp):
    create_group(msp, "newco")
    record(msp, "s-1", group_id="newco")
    assert_error(msp.finance.post("/v1/groups/newco/lock-all", {}), 409, "no_contract")
    assert statuses(msp, "newco") == {"s-1": "to_account"}
