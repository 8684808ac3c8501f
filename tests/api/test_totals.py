"""GET /v1/groups/{group_id}/totals: accounted and to_account time and cost of a period (from
inclusive, to exclusive, on started_at), and the balance of a subscription contract."""
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import pytest

from billing_core import locking

from .conftest import T0, assert_error, assert_invalid, create_group, iso, record, record_many, upload
from .lagging import Lag

EMPTY = {"sessions": 0, "total_seconds": 0, "billed_minutes": 0, "cost": "0.00", "costs": []}


def totals(tenant, group_id="acme", **period):
    status, answer = tenant.finance.get(f"/v1/groups/{group_id}/totals", query=urlencode(period))
    assert status == 200, answer
    return answer


@pytest.fixture
def week(msp):
    """Sessions on 2, 3 and 4 March at 09:00Z (22, 61 and 16 minutes; s-3 locked), one on 5 March at 09:00."""
    def load(group_id):
        record_many(msp, [
            upload("s-2", 1320, start=T0, group_id=group_id),
            upload("s-3", 3660, start=T0 + timedelta(days=1), group_id=group_id),
            upload("s-4", 960, start=T0 + timedelta(days=2), group_id=group_id),
            upload("s-5", 600, start=T0 + timedelta(days=3), group_id=group_id),
        ])
        msp.finance.post("/v1/sessions/s-3/lock")
    return load


@pytest.mark.parametrize("period, to_account, accounted", [
    ({}, {"sessions": 3, "total_seconds": 2880, "billed_minutes": 60, "cost": "75.00", "costs": [{"currency": "EUR", "amount": "75.00"}]},
     {"sessions": 1, "total_seconds": 3660, "billed_minutes": 65, "cost": "70.00", "costs": [{"currency": "EUR", "amount": "70.00"}]}),
    ({"from": iso(T0 + timedelta(days=1))}, {"sessions": 2, "total_seconds": 1560, "billed_minutes": 35, "cost": "45.00", "costs": [{"currency": "EUR", "amount": "45.00"}]},
     {"sessions": 1, "total_seconds": 3660, "billed_minutes": 65, "cost": "70.00", "costs": [{"currency": "EUR", "amount": "70.00"}]}),
    ({"to": iso(T0 + timedelta(days=1))}, {"sessions": 1, "total_seconds": 1320, "billed_minutes": 25, "cost": "30.00", "costs": [{"currency": "EUR", "amount": "30.00"}]}, EMPTY),
    ({"from": iso(T0 + timedelta(days=1)), "to": iso(T0 + timedelta(days=3))},
     {"sessions": 1, "total_seconds": 960, "billed_minutes": 20, "cost": "25.00", "costs": [{"currency": "EUR", "amount": "25.00"}]},
     {"sessions": 1, "total_seconds": 3660, "billed_minutes": 65, "cost": "70.00", "costs": [{"currency": "EUR", "amount": "70.00"}]}),
    ({"from": "2026-03-03T10:00:00+01:00", "to": "2026-03-03T10:00:01+01:00"}, EMPTY,
     {"sessions": 1, "total_seconds": 3660, "billed_minutes": 65, "cost": "70.00", "costs": [{"currency": "EUR", "amount": "70.00"}]}),
    ({"from": "2026-03-03T09:00:00.000001Z"}, {"sessions": 2, "total_seconds": 1560, "billed_minutes": 35, "cost": "45.00", "costs": [{"currency": "EUR", "amount": "45.00"}]}, EMPTY),
])
def test_pay_per_use_totals_honour_the_period(msp, acme, week, period, to_account, accounted):
    week("acme")
    answer = totals(msp, **period)
    assert answer["to_account"] == to_account and answer["accounted"] == accounted
    assert answer["group_id"] == "acme" and "balance" not in answer
    assert answer["contract"]["profile_id"] == "standard" and answer["contract"]["type"] == "pay_per_use"
    assert (answer["from"], answer["to"]) == (utc(period.get("from")), utc(period.get("to")))


def utc(text):
    """The period as answered: UTC with Z, sub-seconds only when there are some."""
    if text is None:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "%Y-%m-%dT%H:%M:%SZ")


def test_subscription_totals_have_no_cost_and_show_the_balance(msp, gold, week):
    week("acme")
    answer = totals(msp)
    assert answer["to_account"] == {"sessions": 3, "total_seconds": 2880, "billed_minutes": 75, "cost": "0.00", "costs": []}
    assert answer["accounted"] == {"sessions": 1, "total_seconds": 3660, "billed_minutes": 75, "cost": "0.00", "costs": []}
    assert answer["balance"] == {"total_minutes": 600, "recharged_minutes": 0, "used_minutes": 75, "carried_over_minutes": 0, "expired_minutes": 0, "overage_minutes": 0, "available_minutes": 525, "amount": "500.00"}
    assert answer["contract"]["type"] == "subscription"
    in_period = totals(msp, **{"from": iso(T0 + timedelta(days=2)), "to": iso(T0 + timedelta(days=3))})
    assert in_period["to_account"] == {"sessions": 1, "total_seconds": 960, "billed_minutes": 30, "cost": "0.00", "costs": []}
    assert in_period["accounted"] == EMPTY
    assert in_period["balance"] == answer["balance"]  # the balance is the contract's, whatever the period
    assert totals(msp, "globex")["balance"]["used_minutes"] == 0


def test_totals_of_a_group_without_contract_say_its_open_sessions_are_unpriced(msp):
    create_group(msp, "newco")
    record(msp, "s-1", 1320, group_id="newco")
    answer = totals(msp, "newco")
    assert answer["contract"] is None and "balance" not in answer
    # no contract prices them: no cost (not a cost of 0.00), and the line says why
    assert answer["to_account"] == {"sessions": 1, "total_seconds": 1320, "billed_minutes": 0, "cost": None, "costs": [],
                                    "unpriced": {"sessions": 1, "reason": "no_contract"}}
    assert answer["accounted"] == EMPTY
    row = msp.finance.get("/v1/totals", "from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z")[1]["groups"][0]
    assert row["to_account"] == answer["to_account"]


def test_totals_are_read_by_every_staff_role(msp, acme):
    for role in ("admin", "technician", "finance"):
        assert getattr(msp, role).get("/v1/groups/acme/totals")[0] == 200


@pytest.mark.parametrize("query, field", [
    ("from=today", "from"), ("to=2026-03-02T09:00:00", "to"), ("from=2026-03-03T00:00:00Z&to=2026-03-02T00:00:00Z", "to"),
    ("status=accounted", "status"), ("limit=5", "limit"),
])
def test_a_bad_period_is_a_400_naming_the_field(msp, acme, query, field):
    assert_invalid(msp.finance.get("/v1/groups/acme/totals", query=query), field)


def test_another_tenants_or_an_unknown_group_is_a_404(msp, other_msp, acme):
    record(msp, "s-1")
    assert_error(other_msp.finance.get("/v1/groups/acme/totals"), 404, "not_found")
    assert_error(msp.finance.get("/v1/groups/nowhere/totals"), 404, "not_found")


# ---------------------------------------------------------------- each session counted once


def counted(answer) -> int:
    return answer["accounted"]["sessions"] + answer["to_account"]["sessions"]


@pytest.fixture
def forty(msp, acme):
    """40 sessions of acme, one every 3 hours from T0 (over 5 UTC days)."""
    record_many(msp, [upload(f"s-{n:02d}", 600 + 60 * n, start=T0 + timedelta(hours=3 * n)) for n in range(40)])


PERIODS = [{}, {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"},
           {"from": "2026-03-02T10:00:00Z", "to": "2026-03-06T10:00:00Z"}]


@pytest.mark.parametrize("period", PERIODS)
def test_a_lock_between_the_totals_reads_is_counted_once(msp, forty, monkeypatch, period):
    lag = Lag(monkeypatch)
    expected = counted(totals(msp, **period))
    for n in (3, 20):  # a session inside every period; the lock commits after the totals' first Query
        lag.after_queries(1, lambda n=n: locking.lock_session(msp.tenant_id, f"s-{n:02d}"))
        answer = totals(msp, **period)
        assert counted(answer) == expected, answer
    assert totals(msp, **period)["accounted"]["sessions"] == 2


@pytest.mark.parametrize("period", PERIODS)
@pytest.mark.parametrize("change, more", [("lock", 0), ("record", 1)])
def test_a_lagging_index_neither_counts_a_session_just_locked_twice_nor_misses_one_just_recorded(msp, forty, monkeypatch,
                                                                                               period, change, more):
    before = counted(totals(msp, **period))
    lag = Lag(monkeypatch)
    lag.freeze(0.3)  # the indexes still show the table as it is now (40 open sessions) for 0.3 s
    if change == "lock":
        assert msp.technician.post("/v1/sessions/s-21/lock")[0] == 200
    else:
        record(msp, "late", 900, start=T0 + timedelta(days=2, hours=1))
    answer = totals(msp, **period)
    assert counted(answer) == before + more, answer
    assert answer["accounted"]["sessions"] == 1 - more
    lag.release()
    assert answer == totals(msp, **period)  # what the caught-up index answers


def test_totals_polled_while_40_sessions_are_locked_concurrently_count_each_once(msp, forty):
    import threading

    seen, errors = [], []

    def lock(numbers):
        for n in numbers:
            status, body = msp.technician.post(f"/v1/sessions/s-{n:02d}/lock")
            if status != 200:
                errors.append(body)

    lockers = [threading.Thread(target=lock, args=(range(k, 40, 4),)) for k in range(4)]
    for thread in lockers:
        thread.start()
    while any(thread.is_alive() for thread in lockers):
        seen.append(counted(totals(msp)))
    for thread in lockers:
        thread.join()
    assert not errors
    assert seen and set(seen) == {40}
    assert totals(msp)["accounted"]["sessions"] == 40


@pytest.mark.parametrize("period", PERIODS[1:2] + [{"from": "2026-03-02T08:00:00Z", "to": "2026-03-06T10:00:00Z"}])
def test_totals_read_right_after_an_adjustment_price_it(msp, acme, period):
    """An adjustment moves no mark of the running totals, and the index of open sessions shows
    its extra minutes a moment later: totals read at once wait that moment out."""
    record(msp, "s-1", 1320, start=T0)
    before = totals(msp, **period)["to_account"]
    assert before["cost"] == "30.00", before
    for extra, cost in ((-10, "20.00"), (20, "50.00"), (0, "30.00")):
        assert msp.technician.patch("/v1/sessions/s-1", {"extra_minutes": extra})[0] == 200
        assert totals(msp, **period)["to_account"]["cost"] == cost
        overview = msp.finance.get("/v1/totals", query=urlencode({"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z"}))
        assert overview[0] == 200 and overview[1]["groups"][0]["to_account"]["cost"] == cost, overview
