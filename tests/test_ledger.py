"""The balance ledger's rules (billing_core.ledger, pure), as properties over any sequence of
recharges (expiring or not) and locks (with or without an overage price): the three rules of a
ledger hold — entries are never changed, every entry names its cause, the balance is their sum."""
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from billing_core import ledger

START = datetime(2026, 1, 1, tzinfo=timezone.utc)
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)

step = st.one_of(
    st.tuples(st.just("recharge"), st.integers(0, 600), st.one_of(st.none(), st.integers(0, 400))),  # minutes, expires (days)
    st.tuples(st.just("lock"), st.integers(0, 900), st.integers(0, 330)),  # billed minutes, started (days)
)


@settings(max_examples=300, deadline=None)
@given(allotment=st.integers(0, 1200), valid_days=st.one_of(st.none(), st.integers(0, 400)),
       overage=st.one_of(st.none(), st.integers(1, 5000)), steps=st.lists(step, max_size=12))
def test_any_sequence_keeps_the_ledger_and_the_balance_in_step(allotment, valid_days, overage, steps):
    price = None if overage is None else Decimal(overage) / 100
    valid_until = None if valid_days is None else START + timedelta(days=valid_days)
    balance, first = ledger.Balance().add_block(ledger.ALLOTMENT, "a", allotment, Decimal("100.00"), START, valid_until)
    entered = first.minutes
    for index, (kind, minutes, days) in enumerate(steps):
        balance, expired = balance.expire(NOW)
        entered += sum(change.minutes for change in expired)
        if kind == "recharge":
            expires = None if days is None else START + timedelta(days=days)
            balance, change = balance.add_block(ledger.RECHARGE, f"r{index}", minutes, Decimal("1.00"), NOW, expires)
            entered += change.minutes
        else:
            before = balance
            balance, deduction, changes = balance.deduct(f"s{index}", minutes, START + timedelta(days=days), NOW, 15, price)
            entered += sum(change.minutes for change in changes)
            assert deduction.billed_minutes == minutes and 0 <= deduction.covered_minutes <= minutes
            overrun = balance.overrun_minutes - before.overrun_minutes
            if price is None:  # what no block covers is an overrun a recharge settles
                assert deduction.overage_minutes == 0 and deduction.overage_cost is None
                assert deduction.covered_minutes + overrun == minutes
            else:  # SPEC §10: covered + overage_minutes = billed, for every lock
                assert overrun == 0 and deduction.covered_minutes + deduction.overage_minutes == minutes
            assert balance.used_minutes - before.used_minutes == minutes - deduction.overage_minutes
        # the balance is the sum of its entries, and the identity of SPEC §10 holds
        assert balance.entered_minutes() == entered
        view = balance.view(NOW)
        assert view["available_minutes"] == (view["total_minutes"] + view["carried_over_minutes"] + view["recharged_minutes"]
                                             - view["used_minutes"] - view["expired_minutes"])
        assert view["available_minutes"] == entered  # every expiry is entered (expire(NOW) ran first)
        assert all(block.remaining >= 0 for block in balance.blocks)


@settings(max_examples=300, deadline=None)
@given(allotment=st.integers(0, 1200), recharges=st.lists(st.tuples(st.integers(1, 600), st.one_of(st.none(), st.integers(-30, 400))), max_size=4),
       used=st.integers(0, 900), thresholds=st.lists(st.integers(0, 100), max_size=5, unique=True),
       locks=st.lists(st.tuples(st.integers(0, 240), st.integers(0, 330)), min_size=1, max_size=8))
def test_locks_within_the_shared_room_give_the_same_balance_in_any_order(allotment, recharges, used, thresholds, locks):
    """Locks that do not read each other (each adds its minutes to the contract's pending minutes
    while the pending total stays within the balance's shared room) are exactly what locking them
    one after the other does, in any order: every minute covered, no overage, no expiry entry, no
    alert threshold crossed, and the blocks drawn as the pending total draws them."""
    balance, _ = ledger.Balance().add_block(ledger.ALLOTMENT, "a", allotment, Decimal("100.00"), START)
    for index, (minutes, days) in enumerate(recharges):
        expires = None if days is None else NOW + timedelta(days=days)
        balance, _ = balance.add_block(ledger.RECHARGE, f"r{index}", minutes, Decimal("1.00"), START, expires)
    balance, _, _ = balance.deduct("earlier", used, START, START, 15)
    started = [START + timedelta(days=days) for _, days in locks]
    room = balance.shared_room(NOW, started, tuple(thresholds))
    taken = [minutes for minutes, _ in locks]
    if room is None or sum(taken) > room:
        return  # such locks read and write the balance whole
    for order in (range(len(locks)), reversed(range(len(locks)))):
        one_by_one = balance
        for index in order:
            before = one_by_one
            one_by_one, deduction, changes = one_by_one.deduct(f"s{index}", taken[index], started[index], NOW, 15, Decimal("9.00"))
            assert deduction.covered_minutes == taken[index] and deduction.overage_cost is None
            assert [change.kind for change in changes] == [ledger.DEDUCTION] and changes[0].minutes == -taken[index]
            assert one_by_one.cross_thresholds(before, thresholds, NOW)[1] == []
        assert one_by_one.expire(NOW)[1] == []
        assert one_by_one == balance.draw(sum(taken))
