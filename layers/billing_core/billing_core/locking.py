"""Locking ("accounting") sessions: the price is frozen by the latest profile version, checked
inside the lock's transaction, and a subscription's balance is charged in the same transaction,
with one ledger entry per session (SPEC §3, §8, §10). Lock-all covers the oldest sessions first."""
import json
from dataclasses import dataclass, field
from decimal import Decimal

from . import events, fields, ledger, storage
from .contracts import (balance_of, balance_update, current_contract, entries_for, group_contract, is_latest,
                        refresh_action)
from .errors import Conflict
from .idempotency import Claim
from .models import Contract, Session
from .recording import chunks
from .reporting import parse_period, query_sessions
from .sessions import ACCOUNTED, TO_ACCOUNT, frozen_explanation, read_session, session_view
from .tariff import Subscription, overage_lines, price

MAX_ACTIONS = 100  # DynamoDB's limit of one transaction
FIXED_ACTIONS = 3  # the contract, the profile version check, the idempotency record
LOCK_ALL_FIELDS = ("from", "to", "technician", "recorded_before")


@dataclass
class Locked:
    """What one transaction of locks did."""

    sessions: list[Session] = field(default_factory=list)
    billed_minutes: int = 0
    costs: dict[str, Decimal] = field(default_factory=dict)
    answer: dict | None = None


class StaleProfile(Exception):
    """The contract's profile version is no longer the latest: refresh it, then price again."""


def chunk_size(contract: Contract) -> int:
    """Sessions per transaction: a pay-per-use lock is one action; a subscription's adds its
    deduction entry, and an overage entry when the profile has an overage price."""
    per_session = 1
    if isinstance(contract.tariff, Subscription):
        per_session = 3 if getattr(contract.tariff, "overage_step_cost", None) is not None else 2
    expiries = len(balance_of(contract).blocks) if contract.balance else 0
    alerts = len(getattr(contract.tariff, "alert_thresholds", ()))  # one outbox event per threshold, at most
    return max(1, (MAX_ACTIONS - FIXED_ACTIONS - expiries - alerts) // per_session)


def _lock_transaction(tenant_id: str, contract: Contract, sessions: list[Session], actor: str | None,
                      claim: Claim | None = None, answer=None) -> Locked:
    """Locks `sessions` (all still as read) over exactly the contract read, all or nothing."""
    now = fields.utc_now()
    tariff = contract.tariff
    before = balance_of(contract)
    balance, changes = before.expire(now) if before else (None, [])
    locked = Locked()
    updates = []
    for session in sorted(sessions, key=lambda s: (s.started_at, s.session_id)):  # the oldest is covered first
        pricing = price(tariff, session.connection_seconds, session.extra_minutes, session.started_at)
        frozen = {
            "status": ACCOUNTED, "locked_at": now, "locked_by": actor or None,
            "total_seconds": pricing.total_seconds, "billed_minutes": pricing.billed_minutes, "cost": pricing.cost,
            "currency": tariff.currency, "profile_id": contract.profile_id, "profile_version": contract.profile_version,
            "contract_id": contract.contract_id, **frozen_explanation(pricing),
        }
        if balance is not None:
            overage_price = getattr(tariff, "overage_step_cost", None)
            balance, deduction, more = balance.deduct(session.session_id, pricing.billed_minutes, session.started_at, now,
                                                      tariff.step_minutes, overage_price)
            changes += more
            frozen.update(cost=deduction.overage_cost, covered_minutes=deduction.covered_minutes,
                          overage_minutes=deduction.overage_minutes)
            if overage_price is not None:  # the explanation says what the balance covered and what overage cost
                frozen.update(frozen_explanation(pricing, overage_lines(
                    tariff, deduction.covered_minutes, deduction.overage_minutes, deduction.overage_cost)))
        updates.append((session, frozen))
        locked.billed_minutes += pricing.billed_minutes
        if frozen["cost"] is not None:
            locked.costs[tariff.currency] = locked.costs.get(tariff.currency, Decimal("0.00")) + frozen["cost"]
    entries = entries_for(tenant_id, contract, before, changes, actor) if balance is not None else []
    alerts = []
    thresholds = getattr(tariff, "alert_thresholds", ())
    if balance is not None and thresholds:
        balance, crossings = balance.cross_thresholds(before, thresholds, now)
        alerts = [events.threshold_crossed(tenant_id, contract.group_id, contract.contract_id, now, c) for c in crossings]
    for session, frozen in updates:
        for name, value in frozen.items():
            setattr(session, name, value)
    locked.sessions = [session for session, _ in updates]
    body = answer(locked) if answer else None

    def fill(transaction):
        for session, frozen in updates:
            transaction.update(
                session,
                actions=[getattr(Session, name).set(value) for name, value in frozen.items() if value is not None]
                + [Session.revision.add(1)],
                condition=(Session.status == TO_ACCOUNT) & (Session.revision == session.revision),
            )
        if balance is not None:
            balance_update(transaction, contract, balance, entries)
            for alert in alerts:  # the outbox: the event exists exactly when the lock does
                transaction.save(alert)
        else:
            transaction.condition_check(Contract, contract.PK, contract.SK, condition=Contract.revision == contract.revision)
        is_latest(transaction, contract.profile_id, contract.profile_version, tenant_id)
        if claim:
            claim.save(transaction, body)

    profile_check = len(updates) + 1 + len(entries) + len(alerts)  # its position among the actions
    try:
        storage.transact(fill, "the lock")
    except storage.ConditionFailed as failed:
        if failed.failed(profile_check):
            raise StaleProfile() from None
        raise
    for session in locked.sessions:
        session.revision += 1
    if balance is not None:  # the contract as it now is, without reading it again
        contract.balance = json.dumps(ledger.dump(balance))
        contract.ledger_seq += len(entries)
    locked.answer = body
    return locked


def ensure_latest_profile(tenant_id: str, contract: Contract, actor: str | None) -> Contract:
    """The contract with the profile's latest version: refreshed here when a profile update has
    not reached it yet (the refresh is idempotent: it applies only over the contract read)."""
    from .profiles import latest_version

    profile = latest_version(tenant_id, contract.profile_id)
    if profile.version == contract.profile_version:
        return contract
    refreshed, fill = refresh_action(tenant_id, contract, profile, actor)
    try:
        storage.transact(fill, "the contract refresh")
    except storage.ConditionFailed:
        pass  # refreshed or changed meanwhile: the caller reads it again
    return current_contract(tenant_id, contract.group_id) or refreshed


def lock_session(tenant_id: str, session_id: str, actor: str | None = None, claim: Claim | None = None) -> dict:
    """Idempotent: locking an accounted session answers it unchanged and deducts nothing."""
    backoff = storage.Backoff("the lock")
    seen = None  # the balance's last entry, as the previous attempt read it
    while True:
        session = read_session(tenant_id, session_id)
        if session.status == ACCOUNTED:
            return session_view(session, None)
        contract = current_contract(tenant_id, session.group_id)
        if contract is not None and seen is not None and contract.ledger_seq != seen:
            backoff.progressed()  # others charged the balance meanwhile: contention, not a livelock
        seen = contract.ledger_seq if contract is not None else None
        if contract is None:
            raise Conflict(f"group {session.group_id} has no contract: assign a profile before locking", "no_contract")
        try:
            locked = _lock_transaction(tenant_id, contract, [session], actor, claim,
                                       lambda done: session_view(done.sessions[0], None))
            return locked.answer
        except StaleProfile:
            ensure_latest_profile(tenant_id, contract, actor)
        except storage.ConditionFailed:
            backoff.wait()  # locked, adjusted, charged or re-priced meanwhile: look again


def parse_lock_all(values: dict):
    technician = None if values.get("technician") in (None, "") else fields.name("technician", values["technician"])
    recorded_before = None
    if values.get("recorded_before") not in (None, ""):
        recorded_before = fields.timestamp("recorded_before", values["recorded_before"])
    return parse_period(values), technician, recorded_before


def lock_all(tenant_id: str, group_id: str, values: dict, actor: str | None = None) -> dict:
    """Locks every to_account session of the search, oldest first, in transactions as large as
    DynamoDB allows; a session locked meanwhile by someone else is left as they locked it."""
    period, technician, recorded_before = parse_lock_all(values)
    contract = group_contract(tenant_id, group_id)
    total = Locked()
    found = query_sessions(tenant_id, group_id, period, TO_ACCOUNT, technician, recorded_before=recorded_before)
    for chunk in chunks(found, chunk_size(contract) if contract else 97):
        if contract is None:
            raise Conflict(f"group {group_id} has no contract: assign a profile before locking", "no_contract")
        contract = _lock_chunk(tenant_id, group_id, contract, chunk, actor, total)
    return lock_all_answer(total, contract)


def lock_all_answer(total: Locked, contract: Contract | None) -> dict:
    costs = [{"currency": c, "amount": fields.money_text(a)} for c, a in sorted(total.costs.items())]
    subscription = contract is not None and isinstance(contract.tariff, Subscription)
    if len(costs) == 1:
        cost = costs[0]["amount"]
    elif not costs and not subscription:
        cost = "0.00"
    else:
        cost = None  # a subscription bills no money per session (but overage); two currencies never add
    return {"locked": len(total.sessions), "billed_minutes": total.billed_minutes, "cost": cost, "costs": costs}


def _lock_chunk(tenant_id: str, group_id: str, contract: Contract, chunk: list[Session], actor, total: Locked) -> Contract:
    """Locks one chunk, reading again while others make progress on it; answers the contract as
    it now is. Sizes the chunk again when the contract changed (its actions may not fit)."""
    backoff = storage.Backoff("the lock-all")
    pending = chunk
    while pending:
        size = chunk_size(contract)
        try:
            done = _lock_transaction(tenant_id, contract, pending[:size], actor)
        except (StaleProfile, storage.ConditionFailed) as failed:
            seq = contract.ledger_seq
            if isinstance(failed, StaleProfile):
                contract = ensure_latest_profile(tenant_id, contract, actor)
            else:
                backoff.wait()
                contract = current_contract(tenant_id, group_id)
            if contract is None:
                raise Conflict(f"group {group_id} has no contract: assign a profile before locking", "no_contract") from None
            fresh = storage.batch_get([(s.PK, s.SK) for s in pending])
            still = sorted((s for s in fresh.values() if s.status == TO_ACCOUNT), key=lambda s: s.GSI1SK)
            if len(still) < len(pending) or contract.ledger_seq != seq:
                backoff.progressed()  # others locked some of these, or charged the balance: no livelock
            pending = still
            continue
        total.sessions += done.sessions
        total.billed_minutes += done.billed_minutes
        for currency, amount in done.costs.items():
            total.costs[currency] = total.costs.get(currency, Decimal("0.00")) + amount
        pending = pending[size:]
    return contract

