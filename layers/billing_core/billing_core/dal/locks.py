"""Data access of locks: the one transaction that accounts sessions (each session frozen, the
balance and its ledger entries, the outbox events, the day totals, the check that the price is
the profile's latest, and what else the request or job writes with it), the read of the sessions
still to lock, and the keyed run of a lock-all. Failures come back as outcomes: `StaleProfile`
(refresh, then price again), `StepMoved` (another run of the job went on), `LostRace` (a session
or the balance changed: read again)."""
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterable, Iterator

from ..ledger import Balance
from . import contracts, periods, store, totals
from .models import Contract, Event, Job, LedgerEntry, Session, keys
from .outcomes import LostRace, StaleProfile, StepMoved

TO_ACCOUNT = "to_account"
Extra = Callable[[store.Transaction], None] | None


@dataclass
class Charge:
    """A subscription's part of a lock: the balance after it, its ledger entries, its events; or,
    when `shared` (ledger.Balance.shared_room), the `minutes` it takes from the balance's `room`."""

    balance: Balance
    entries: list[LedgerEntry]
    alerts: list[Event]
    shared: bool = False
    minutes: int = 0
    room: int = 0


def lock_sessions(tenant_id: str, contract: Contract, updates: list[tuple[Session, dict]], charge: Charge | None,
                  extra: Extra = None, step: Extra = None, months: Iterable[str] = ()) -> None:
    """Locks each session of `updates` with its frozen figures (all as read, still to_account) over
    exactly the contract read, all or nothing: each leaves the sparse index of open sessions, its
    UTC day's running totals grow by it, a subscription's balance is charged. `extra` adds the
    request's idempotency answer, `step` a job's progress, to the same transaction. On success the
    items passed are left as written (no read again)."""
    day_totals = totals.lock_updates(tenant_id, contract.group_id, contract.tariff.currency, updates)
    positions = {}

    def fill(transaction):
        for session, frozen in updates:
            transaction.update(
                session,
                actions=[getattr(Session, name).set(value) for name, value in frozen.items() if value is not None]
                + [Session.revision.add(1), Session.GSI2PK.remove(), Session.GSI2SK.remove()],
                condition=(Session.status == TO_ACCOUNT) & (Session.revision == session.revision),
            )
        if charge is not None:
            positions["contract"] = len(transaction.added)
            if charge.shared:
                contracts.add_shared_charge(transaction, contract, charge.minutes, charge.room, charge.entries)
            else:
                contracts.add_balance_update(transaction, contract, charge.balance, charge.entries, same_tariff=False)
            positions["entries"] = len(transaction.added)
            for alert in charge.alerts:  # the outbox: the event exists exactly when the lock does
                transaction.save(alert)
        else:
            contracts.add_same_contract(transaction, contract)
        positions["profile"] = len(transaction.added)
        contracts.add_latest_check(transaction, tenant_id, contract.profile_id, contract.profile_version)
        periods.add_open_checks(transaction, tenant_id, months)  # the sessions' months: a close racing fails it (LostRace)
        if extra:
            extra(transaction)
        for item, adds in day_totals:
            transaction.update(item, actions=adds)
        if step:
            positions["step"] = len(transaction.added)
            step(transaction)

    try:
        store.transact(fill, "the lock")
    except store.ConditionFailed as failed:
        if failed.failed(positions["profile"]):
            raise StaleProfile() from None
        if "step" in positions and failed.failed(positions["step"]):
            raise StepMoved() from None
        raise LostRace(contracts.contract_now(failed, positions)) from None
    for session, frozen in updates:
        for name, value in frozen.items():
            setattr(session, name, value)
        session.revision += 1
        session.GSI2PK = session.GSI2SK = None
    if charge is not None and charge.shared:
        contracts.set_shared(contract, charge.minutes, len(charge.entries))
    elif charge is not None:
        contracts.set_balance(contract, charge.balance, len(charge.entries))


# ---------------------------------------------------------------- what a lock-all reads


def open_sessions(tenant_id: str, group_id: str, low: str, high: str, technician: str | None,
                  recorded_before: datetime, after: dict | None) -> Iterator[Session]:
    """The group's to_account sessions with a start between `low` and `high` (sortable UTC),
    oldest first, recorded before the cutoff, after the position `after` (of `position_after`).
    Read from the sparse index: the caller makes sure the index has settled past the cutoff."""
    condition = (Session.status == TO_ACCOUNT) & (Session.recorded_at < recorded_before)
    if technician:
        condition = condition & (Session.technician == technician)
    start_key = {name: {"S": value} for name, value in after.items()} if after else None
    return store.query(Session, keys.open_sessions_of(tenant_id, group_id), index="gsi2",
                       range_key_condition=Session.GSI2SK.between(low, high), filter_condition=condition,
                       last_evaluated_key=start_key)


def position_after(tenant_id: str, group_id: str, session: Session) -> dict:
    """Where a lock-all goes on after `session` (kept in a job's state)."""
    return {"PK": session.PK, "SK": session.SK, "GSI2PK": keys.open_sessions_of(tenant_id, group_id),
            "GSI2SK": session.GSI1SK}


def order_key(session: Session) -> str:
    """The order a lock-all goes in: by start, then id (the index's sort key)."""
    return session.GSI1SK


# ---------------------------------------------------------------- the keyed run of a lock-all


def keyed_job(tenant_id: str, job_id: str) -> Job | None:
    """The job that carries a keyed lock-all (its id derived from the key), if it was started."""
    return store.get(Job, keys.job(tenant_id, job_id), "JOB")
