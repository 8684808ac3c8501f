"""Locking ("accounting") sessions: the price is frozen by the latest profile version, checked
inside the lock's transaction, and a subscription's balance is charged in the same transaction,
with one ledger entry per session (SPEC §3, §8, §10). Lock-all covers the oldest sessions first."""
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Callable

from . import events, fields, ledger
from .dal import store as storage
from .contracts import (balance_of, balance_update, current_contract, entries_for, group_contract, is_latest,
                        refresh_action)
from .errors import Conflict
from .idempotency import Claim
from .jobs import JobMoved
from .dal import totals
from .dal.models import Contract, Session, keys
from .dal.totals import day_of
from .reporting import Period, parse_period, query_sessions
from .sessions import ACCOUNTED, TO_ACCOUNT, frozen_explanation, read_session, session_view
from .tariff import Subscription, overage_lines, price

MAX_ACTIONS = 100  # DynamoDB's limit of one transaction
FIXED_ACTIONS = 3  # the contract, the profile version check, the idempotency record or the job's step
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


def per_session_actions(contract: Contract) -> int:
    """A pay-per-use lock is one action; a subscription's adds its deduction entry, and an
    overage entry when the profile has an overage price."""
    if isinstance(contract.tariff, Subscription):
        return 3 if contract.tariff.overage_step_cost is not None else 2
    return 1


def _alerts(contract: Contract) -> int:
    return len(getattr(contract.tariff, "alert_thresholds", ()))  # one outbox event per threshold, at most


def fitting(contract: Contract, sessions: list[Session]) -> int:
    """How many of `sessions` (oldest first) one transaction takes: each brings its own actions,
    and each distinct UTC day among them one day-total update (DynamoDB: 100 actions at most)."""
    expiries = len(balance_of(contract).blocks) if contract.balance else 0
    room = MAX_ACTIONS - FIXED_ACTIONS - expiries - _alerts(contract)
    per_session = per_session_actions(contract)
    days: set[str] = set()
    taken = 0
    for session in sessions:
        day = day_of(session)
        need = per_session + (0 if day in days else 1)
        if need > room:
            break
        room -= need
        days.add(day)
        taken += 1
    return max(1, taken)


def _lock_transaction(tenant_id: str, contract: Contract, sessions: list[Session], actor: str | None,
                      claim: Claim | None = None, answer=None,
                      step: Callable[[object, Locked], None] | None = None) -> Locked:
    """Locks `sessions` (all still as read) over exactly the contract read, all or nothing: each
    leaves the sparse index of open sessions, and its UTC day's running totals grow by it.
    `step` adds a job's progress to the same transaction."""
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
            overage_price = tariff.overage_step_cost  # a balance: a subscription
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
    day_totals = totals.lock_updates(tenant_id, contract.group_id, tariff.currency, updates)
    step_position = []

    def fill(transaction):
        for session, frozen in updates:
            transaction.update(
                session,
                actions=[getattr(Session, name).set(value) for name, value in frozen.items() if value is not None]
                + [Session.revision.add(1), Session.GSI2PK.remove(), Session.GSI2SK.remove()],
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
        for item, adds in day_totals:
            transaction.update(item, actions=adds)
        if step:
            step_position[:] = [len(transaction.added)]
            step(transaction, locked)

    profile_check = len(updates) + 1 + len(entries) + len(alerts)  # its position among the actions
    try:
        storage.transact(fill, "the lock")
    except storage.ConditionFailed as failed:
        if failed.failed(profile_check):
            raise StaleProfile() from None
        if step_position and failed.failed(step_position[0]):
            raise JobMoved() from None
        raise
    for session in locked.sessions:
        session.revision += 1
        session.GSI2PK = session.GSI2SK = None
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
    if values.get("recorded_before") is not None:
        recorded_before = fields.timestamp("recorded_before", values["recorded_before"])
    return parse_period(values), technician, recorded_before


@dataclass
class LockAllRun:
    """One lock-all: its search (with `recorded_before` frozen, so a job locks exactly what
    finance was shown), where it is (the index key of the last session it locked) and what it
    locked so far. Kept as a job's state between workers."""

    tenant_id: str
    group_id: str
    period: Period
    technician: str | None
    recorded_before: datetime
    after: dict | None = None
    locked: int = 0
    billed_minutes: int = 0
    costs: dict[str, Decimal] = field(default_factory=dict)

    def add(self, done: Locked) -> None:
        self.locked += len(done.sessions)
        self.billed_minutes += done.billed_minutes
        for currency, amount in done.costs.items():
            self.costs[currency] = self.costs.get(currency, Decimal("0.00")) + amount
        if done.sessions:
            last = max(done.sessions, key=lambda s: s.GSI1SK)
            self.after = {"PK": last.PK, "SK": last.SK, "GSI2PK": keys.open_sessions_of(self.tenant_id, self.group_id),
                          "GSI2SK": last.GSI1SK}

    def state(self) -> dict:
        return {
            "group_id": self.group_id, "from": fields.utc_text(self.period.start) if self.period.start else None,
            "to": fields.utc_text(self.period.end) if self.period.end else None, "technician": self.technician,
            "recorded_before": fields.utc_text(self.recorded_before), "after": self.after, "locked": self.locked,
            "billed_minutes": self.billed_minutes, "costs": {c: fields.money_text(a) for c, a in self.costs.items()},
        }

    @classmethod
    def from_state(cls, tenant_id: str, state: dict) -> "LockAllRun":
        period = parse_period({"from": state["from"], "to": state["to"]})
        return cls(tenant_id, state["group_id"], period, state["technician"], fields.timestamp("recorded_before", state["recorded_before"]),
                   state["after"], state["locked"], state["billed_minutes"],
                   {c: Decimal(a) for c, a in state["costs"].items()})

    def advanced(self, done: Locked) -> "LockAllRun":
        """This run as it is once `done` commits (for the job's step, in the same transaction)."""
        copy = LockAllRun.from_state(self.tenant_id, json.loads(json.dumps(self.state())))
        copy.add(done)
        return copy

    def start_key(self) -> dict | None:
        return {name: {"S": value} for name, value in self.after.items()} if self.after else None


def lock_all(tenant_id: str, group_id: str, values: dict, actor: str | None = None) -> dict:
    """Locks every to_account session of the search, oldest first, in transactions as large as
    DynamoDB allows; a session locked meanwhile by someone else is left as they locked it."""
    return request_lock_all(tenant_id, group_id, values, actor, budget_seconds=None)[1]


def request_lock_all(tenant_id: str, group_id: str, values: dict, actor: str | None = None,
                     budget_seconds: float | None = -1.0) -> tuple[int, dict]:
    """Lock-all of one request: what finishes within `budget_seconds` (default: the settings')
    answers 200; what cannot goes on as a job from the last session locked, answered 202."""
    from . import jobs, settings

    period, technician, recorded_before = parse_lock_all(values)
    contract = group_contract(tenant_id, group_id)
    run = LockAllRun(tenant_id, group_id, period, technician, recorded_before or fields.utc_now())
    if budget_seconds is not None and budget_seconds < 0:
        budget_seconds = settings.lock_all_request_seconds()
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    finished, contract = _run_lock_all(tenant_id, run, contract, actor, deadline)
    if finished:
        return 200, lock_all_answer(run, contract)
    job = jobs.create(tenant_id, jobs.LOCK_ALL, run.state(), actor, done=run.locked)
    jobs.start(job)
    return 202, jobs.job_view(job)


def continue_lock_all(tenant_id: str, job, deadline: float | None) -> dict | None:
    """The job worker's part of a lock-all: goes on from the job's last committed step, each
    transaction advancing the job's step with its locks (conditioned on the step read, so a
    retried or restarted worker never locks or counts a session twice). Answers the result
    once done, None when the deadline came first."""
    run = LockAllRun.from_state(tenant_id, json.loads(job.state))
    contract = group_contract(tenant_id, run.group_id)
    finished, contract = _run_lock_all(tenant_id, run, contract, job.created_by, deadline, job)
    return lock_all_answer(run, contract) if finished else None


def out_of_time(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() > deadline


def _run_lock_all(tenant_id: str, run: LockAllRun, contract: Contract | None, actor, deadline: float | None,
                  job=None) -> tuple[bool, Contract | None]:
    """Locks from `run.after` on; stops between two transactions once `deadline` has passed."""
    found = query_sessions(tenant_id, run.group_id, run.period, TO_ACCOUNT, run.technician, start_key=run.start_key(),
                           recorded_before=run.recorded_before)
    buffer: list[Session] = []

    def lock_buffered(everything: bool) -> bool:
        nonlocal contract
        while buffer and (everything or len(buffer) >= MAX_ACTIONS):
            if out_of_time(deadline):
                return False
            if contract is None:
                raise Conflict(f"group {run.group_id} has no contract: assign a profile before locking", "no_contract")
            take = fitting(contract, buffer)
            contract = _lock_chunk(tenant_id, run, contract, buffer[:take], actor, job)
            del buffer[:take]
        return True

    for session in found:
        buffer.append(session)
        if len(buffer) >= MAX_ACTIONS and not lock_buffered(False):
            return False, contract
    return lock_buffered(True), contract


def lock_all_answer(total, contract: Contract | None) -> dict:
    costs = [{"currency": c, "amount": fields.money_text(a)} for c, a in sorted(total.costs.items())]
    subscription = contract is not None and isinstance(contract.tariff, Subscription)
    if len(costs) == 1:
        cost = costs[0]["amount"]
    elif not costs and not subscription:
        cost = "0.00"
    else:
        cost = None  # a subscription bills no money per session (but overage); two currencies never add
    locked = total.locked if isinstance(total, LockAllRun) else len(total.sessions)
    return {"locked": locked, "billed_minutes": total.billed_minutes, "cost": cost, "costs": costs}


def _lock_chunk(tenant_id: str, run: LockAllRun, contract: Contract, chunk: list[Session], actor, job=None) -> Contract:
    """Locks one chunk, reading again while others make progress on it; answers the contract as
    it now is. Sizes the chunk again when the contract changed (its actions may not fit)."""
    from . import jobs

    group_id = run.group_id
    backoff = storage.Backoff("the lock-all")
    pending = chunk
    while pending:
        size = fitting(contract, pending)
        step = None
        if job is not None:
            def step(transaction, locked, job=job):
                ahead = run.advanced(locked)
                jobs.advance(transaction, job, ahead.state(), ahead.locked)
        try:
            done = _lock_transaction(tenant_id, contract, pending[:size], actor, step=step)
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
        run.add(done)
        if job is not None:
            jobs.committed(job, run.state(), run.locked)
        pending = pending[size:]
    return contract
