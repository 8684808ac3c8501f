"""Locking ("accounting") sessions: the price is frozen by the latest profile version, checked
inside the lock's transaction, and a subscription's balance is charged in the same transaction,
with one ledger entry per session (SPEC §3, §8, §10). Lock-all covers the oldest sessions first."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Callable

from . import deadline, events, fields, ledger, settings
from .contract_views import balance_of, written_balance
from .dal import contracts as dal_contracts
from .dal import locks as dal_locks
from .dal import periods as dal_periods
from .dal import sessions as dal_sessions
from .dal import store
from .dal.models import Contract, Session
from .dal.outcomes import LostRace, StaleProfile, StepMoved
from .dal.totals import day_of
from .errors import Conflict, InvalidInput
from .lock_pricing import catch_up, ensure_latest_profile, latest_pricing, still_priced
from .periods import Calendar, calendar_from, contract_and_calendar, refuse_closed_spans
from .sessions import ACCOUNTED, frozen_explanation, read_session, session_view
from .tariff import COST_LIMIT, Subscription, over_limit, overage_lines, price

if TYPE_CHECKING:  # annotations only: idempotency is loaded by a request that sends a key, reporting by a lock-all
    from .idempotency import Claim
    from .reporting import Period

MAX_ACTIONS = 100  # DynamoDB's limit of one transaction
FIXED_ACTIONS = 3  # the contract, the profile version check, the idempotency record or the job's step
LOCK_ALL_FIELDS = ("from", "to", "technician", "recorded_before")
FINISHED, RUNNING = "finished", "running"  # what a lock-all request answers; api picks the status
CHUNK_RESERVE_SECONDS = 3.0  # a chunk is not started with less time left: its retries and the hand-over fit


@dataclass
class Locked:
    """What one transaction of locks did."""

    sessions: list[Session] = field(default_factory=list)
    billed_minutes: int = 0
    costs: dict[str, Decimal] = field(default_factory=dict)
    answer: dict | None = None


def per_session_actions(contract: Contract) -> int:
    """A pay-per-use lock is one action; a subscription's adds its deduction entry, and an
    overage entry when the profile has an overage price."""
    if isinstance(contract.tariff, Subscription):
        return 3 if contract.tariff.overage_step_cost is not None else 2
    return 1


def _alerts(contract: Contract) -> int:
    return len(getattr(contract.tariff, "alert_thresholds", ()))  # one outbox event per threshold, at most


def fitting(contract: Contract, sessions: list[Session], calendar: Calendar = Calendar()) -> int:
    """How many of `sessions` (oldest first) one transaction takes: each brings its own actions,
    each distinct UTC day among them one day-total update, each distinct month of the tenant's
    calendar the check that it is open (DynamoDB: 100 actions at most)."""
    expiries = len(balance_of(contract).blocks) if contract.balance else 0
    room = MAX_ACTIONS - FIXED_ACTIONS - expiries - _alerts(contract)
    per_session = per_session_actions(contract)
    days: set[str] = set()
    months: set[str] = set()
    taken = 0
    for session in sessions:
        day, month = day_of(session), calendar.month(session.started_at)
        need = per_session + (0 if day in days else 1) + (0 if month in months else 1)
        if need > room:
            break
        room -= need
        days.add(day)
        months.add(month)
        taken += 1
    return max(1, taken)


def _lock_transaction(tenant_id: str, contract: Contract, calendar: Calendar, sessions: list[Session], actor: str | None,
                      claim: Claim | None = None, answer=None,
                      step: Callable[[object, Locked], None] | None = None) -> Locked:
    """Prices and freezes `sessions` (all still as read) by exactly the contract read, charges a
    subscription's balance, and locks them in one transaction (dal.locks.lock_sessions), which
    holds that their months are still open. A session started in a closed month or a price above
    the money limit refuses the lock (409), nothing written. `step` adds a job's progress.
    When only the oldest of them fit in the balance's shared room, only those are locked (and
    answered): the others go in the next transaction, which reads and writes the balance whole."""
    months = calendar.refuse_closed([s.started_at for s in sessions], "locking " + _named(sessions))
    now = fields.utc_now()
    tariff = contract.tariff
    before = balance_of(contract)
    balance, changes = before.expire(now) if before else (None, [])
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
        if over_limit(frozen["cost"]):
            raise Conflict(f"session {session.session_id} would be frozen at {fields.money_text(frozen['cost'])}, above "
                           f"the limit of {COST_LIMIT}: adjust it or recharge the balance first", "cost_limit")
        updates.append((session, frozen))
    charge = None
    if balance is not None:
        charge, updates = _shared_charge(tenant_id, contract, updates, changes, now, actor)
    if charge is None and balance is not None:
        entries = dal_contracts.ledger_entries(tenant_id, contract, before, changes, actor)
        alerts = []
        thresholds = getattr(tariff, "alert_thresholds", ())
        if thresholds:
            balance, crossings = balance.cross_thresholds(before, thresholds, now)
            alerts = [events.threshold_crossed(tenant_id, contract.group_id, contract.contract_id, now, c) for c in crossings]
        charge = dal_locks.Charge(balance, entries, alerts)
    locked = Locked()
    for session, frozen in updates:  # the answer shows them as locked (the write re-reads nothing)
        for name, value in frozen.items():
            setattr(session, name, value)
        locked.sessions.append(session)
        locked.billed_minutes += frozen["billed_minutes"]
        if frozen["cost"] is not None:
            locked.costs[tariff.currency] = locked.costs.get(tariff.currency, Decimal("0.00")) + frozen["cost"]
    body = answer(locked) if answer else None
    dal_locks.lock_sessions(tenant_id, contract, updates, charge,
                            extra=dal_contracts.answered(claim, body),
                            step=(lambda transaction: step(transaction, locked)) if step else None, months=months)
    locked.answer = body
    return locked


def _shared_charge(tenant_id: str, contract: Contract, updates: list[tuple[Session, dict]], changes: list, now,
                   actor) -> tuple[dal_locks.Charge | None, list[tuple[Session, dict]]]:
    """The charge of the locks (the oldest of `updates`, as many as fit) that fit in the balance's
    room (ledger.Balance.shared_room): their minutes added to the contract's pending minutes, over
    the balance as written whole, so concurrent locks of one client do not fail each other; and
    the updates it takes. (None, all of them) when not even the oldest fits: then the balance is
    read and written whole, its entries numbered."""
    if any(change.kind == ledger.EXPIRY for change in changes):
        return None, updates  # an expiry due: entered first, in order
    room = written_balance(contract).shared_room(now, [session.started_at for session, _ in updates],
                                                 getattr(contract.tariff, "alert_thresholds", ()))
    free = -1 if room is None else room - int(contract.pending_minutes or 0)
    taken, minutes = 0, 0
    for _, frozen in updates:
        if minutes + frozen["billed_minutes"] > free:
            break
        minutes += frozen["billed_minutes"]
        taken += 1
    if not taken:
        return None, updates
    ids = {session.session_id for session, _ in updates[:taken]}
    mine = [change for change in changes if change.session_id in ids]
    if any(change.kind != ledger.DEDUCTION for change in mine):
        return None, updates  # overage: the order of the changes matters
    return dal_locks.Charge(balance_of(contract), dal_contracts.shared_entries(tenant_id, contract, mine, actor), [],
                            shared=True, minutes=minutes, room=room), updates[:taken]


def _named(sessions: list[Session]) -> str:
    return f"session {sessions[0].session_id}" if len(sessions) == 1 else f"{len(sessions)} sessions"


def lock_session(tenant_id: str, session_id: str, actor: str | None = None, claim: Claim | None = None) -> dict:
    """Idempotent: locking an accounted session answers it unchanged and deducts nothing. The
    critical path is the read of the session and the contract, then one transaction (locks within
    the balance's shared room do not fail each other); a lock that loses the balance to a write of
    it whole, or meets a newer profile version, prices again on the contract handed back or the
    version read, after a short jittered pause (others' progress renews its time, never past the
    request's own)."""
    backoff = store.Backoff("the lock")
    contract = None  # as the last attempt left it: read again only when something else than the balance moved
    behind = None  # the profile version priced with that the contract item does not have yet
    while True:
        if contract is None:
            session = read_session(tenant_id, session_id)
            if session.status == ACCOUNTED:
                return session_view(session, None)
            contract, calendar = dal_periods.contract_and_calendar(tenant_id, session.group_id)
            calendar = calendar_from(calendar)
            if contract is None:
                raise Conflict(f"group {session.group_id} has no contract: assign a profile before locking", "no_contract")
        try:
            locked = _lock_transaction(tenant_id, contract, calendar, [session], actor, claim,
                                       lambda done: session_view(done.sessions[0], None))
        except StaleProfile:
            contract, newer = latest_pricing(tenant_id, contract)  # a profile update: progress, priced again
            behind = newer or behind
            backoff.progressed()
            backoff.wait()
            continue
        except LostRace as lost:
            if lost.contract is not None:  # only the balance moved: others charged it, which is progress
                contract = still_priced(lost.contract, contract)
                backoff.progressed()
            else:
                contract = None  # the session or the contract changed: read both again
            backoff.wait()
            continue
        catch_up(tenant_id, contract, behind, actor)
        return locked.answer


def _given(values: dict, name: str):
    """A lock-all field as sent: absent or null is "not given"; anything else must be valid
    (an empty string is not "every technician" nor "unbounded")."""
    value = values.get(name)
    if value == "" or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(name, "must not be empty (leave it out to not filter by it)")
    return value


def parse_lock_all(values: dict):
    from .reporting import parse_period  # lock-all's own (with jobs): a single lock never loads them

    technician = _given(values, "technician")
    technician = None if technician is None else fields.name("technician", technician)
    for bound in ("from", "to"):
        _given(values, bound)
    recorded_before = _given(values, "recorded_before")
    if recorded_before is not None:
        recorded_before = fields.timestamp("recorded_before", recorded_before)
    return parse_period(values), technician, recorded_before


@dataclass
class LockAllRun:
    """One lock-all: its search (with `recorded_before` frozen, so a job locks exactly what
    finance was shown), where it is (the index position of the last session it locked) and what
    it locked so far. Kept as a job's state between workers."""

    tenant_id: str
    group_id: str
    period: Period
    technician: str | None
    recorded_before: datetime
    after: dict | None = None
    locked: int = 0
    billed_minutes: int = 0
    costs: dict[str, Decimal] = field(default_factory=dict)
    calendar: Calendar = Calendar()  # read by each request or worker, not kept in the state

    def add(self, done: Locked) -> None:
        self.locked += len(done.sessions)
        self.billed_minutes += done.billed_minutes
        for currency, amount in done.costs.items():
            self.costs[currency] = self.costs.get(currency, Decimal("0.00")) + amount
        if done.sessions:
            self.after = dal_locks.position_after(self.tenant_id, self.group_id, max(done.sessions, key=dal_locks.order_key))

    def state(self) -> dict:
        return {
            "group_id": self.group_id, "from": fields.utc_text(self.period.start) if self.period.start else None,
            "to": fields.utc_text(self.period.end) if self.period.end else None, "technician": self.technician,
            "recorded_before": fields.utc_text(self.recorded_before), "after": self.after, "locked": self.locked,
            "billed_minutes": self.billed_minutes, "costs": {c: fields.money_text(a) for c, a in self.costs.items()},
        }

    @classmethod
    def from_state(cls, tenant_id: str, state: dict) -> "LockAllRun":
        from .reporting import parse_period

        period = parse_period({"from": state["from"], "to": state["to"]})
        return cls(tenant_id, state["group_id"], period, state["technician"], fields.timestamp("recorded_before", state["recorded_before"]),
                   state["after"], state["locked"], state["billed_minutes"],
                   {c: Decimal(a) for c, a in state["costs"].items()})

    def advanced(self, done: Locked) -> "LockAllRun":
        """This run as it is once `done` commits (for the job's step, in the same transaction)."""
        copy = LockAllRun.from_state(self.tenant_id, json.loads(json.dumps(self.state())))
        copy.add(done)
        return copy

    def sessions(self):
        """The sessions still to lock, oldest first, from where the run is."""
        return dal_locks.open_sessions(self.tenant_id, self.group_id, self.period.low, self.period.high, self.technician,
                                       self.recorded_before, self.after)


def lock_all(tenant_id: str, group_id: str, values: dict, actor: str | None = None) -> dict:
    """Locks every to_account session of the search, oldest first, in transactions as large as
    DynamoDB allows; a session locked meanwhile by someone else is left as they locked it."""
    return request_lock_all(tenant_id, group_id, values, actor, budget_seconds=None)[1]


def request_lock_all(tenant_id: str, group_id: str, values: dict, actor: str | None = None,
                     budget_seconds: float | None = -1.0, claim: Claim | None = None) -> tuple[str, dict]:
    """Lock-all of one request: (FINISHED, the answer) when it finishes within `budget_seconds`
    (default: the settings') and the invocation's time; else (RUNNING, the job's view): the rest
    goes on as a job from the last session locked. With an Idempotency-Key (`claim`), the run is
    a job from the start, found again by the key: a retry after a crash goes on where it stopped
    and answers the whole run, never only what was left."""
    from . import jobs
    from .lock_runs import keyed_run

    period, technician, recorded_before = parse_lock_all(values)
    contract, calendar = contract_and_calendar(tenant_id, group_id)
    refuse_closed_spans(tenant_id, group_id, period, technician, recorded_before or fields.utc_now(), calendar)
    if budget_seconds is not None and budget_seconds < 0:
        budget_seconds = settings.lock_all_request_seconds()
    until = None if budget_seconds is None else time.monotonic() + budget_seconds
    job = None
    if claim is not None:
        job, run, done = keyed_run(tenant_id, claim, group_id, period, technician, recorded_before, actor)
        if done is not None:
            return done
    else:
        run = LockAllRun(tenant_id, group_id, period, technician, _cutoff(recorded_before))
    run.calendar = calendar
    try:
        finished, contract = _run_lock_all(tenant_id, run, contract, actor, until, job)
    except jobs.JobMoved:
        return RUNNING, jobs.job_view(job)  # its worker goes on with it (the first request handed it over)
    answer = lock_all_answer(run, contract)
    if finished:
        if job is not None:
            jobs.finish(job, answer)
        return FINISHED, answer
    if job is None:
        job = jobs.create(tenant_id, jobs.LOCK_ALL, run.state(), actor, done=run.locked)
    jobs.start(job)
    return RUNNING, jobs.job_view(job)


def _cutoff(recorded_before: datetime | None) -> datetime:
    """The recorded-before cutoff of a new run: the one asked, at most now. The index of open
    sessions is eventually consistent: it is read only once it has settled past the cutoff (a
    session recorded just before it is in the index by then)."""
    now = fields.utc_now()
    cutoff = min(recorded_before, now) if recorded_before else now
    deadline.settle(cutoff, "the index of open sessions")
    return cutoff


def continue_lock_all(tenant_id: str, job, until: float | None) -> dict | None:
    """The job worker's part of a lock-all: goes on from the job's last committed step, each
    transaction advancing the job's step with its locks (conditioned on the step read, so a
    retried or restarted worker never locks or counts a session twice). Answers the result
    once done, None when the deadline came first."""
    run = LockAllRun.from_state(tenant_id, json.loads(job.state))
    contract, run.calendar = contract_and_calendar(tenant_id, run.group_id)
    refuse_closed_spans(tenant_id, run.group_id, run.period, run.technician, run.recorded_before, run.calendar)
    finished, contract = _run_lock_all(tenant_id, run, contract, job.created_by, until, job)
    return lock_all_answer(run, contract) if finished else None


def out_of_time(until: float | None) -> bool:
    return (until is not None and time.monotonic() > until) or deadline.remaining() < CHUNK_RESERVE_SECONDS


def _run_lock_all(tenant_id: str, run: LockAllRun, contract: Contract | None, actor, until: float | None,
                  job=None) -> tuple[bool, Contract | None]:
    """Locks from where `run` is; stops between two transactions once `until` has passed or the
    invocation has too little time left for one more."""
    buffer: list[Session] = []

    def lock_buffered(everything: bool) -> bool:
        nonlocal contract
        while buffer and (everything or len(buffer) >= MAX_ACTIONS):
            if out_of_time(until):
                return False
            if contract is None:
                raise Conflict(f"group {run.group_id} has no contract: assign a profile before locking", "no_contract")
            take = fitting(contract, buffer, run.calendar)
            contract = _lock_chunk(tenant_id, run, contract, buffer[:take], actor, job)
            del buffer[:take]
        return True

    for session in run.sessions():
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
    backoff = store.Backoff("the lock-all")
    pending = chunk
    while pending:
        size = fitting(contract, pending, run.calendar)
        step = None
        if job is not None:
            def step(transaction, locked, job=job):
                ahead = run.advanced(locked)
                jobs.advance(transaction, job, ahead.state(), ahead.locked)
        try:
            done = _lock_transaction(tenant_id, contract, run.calendar, pending[:size], actor, step=step)
        except StepMoved:
            raise jobs.JobMoved() from None
        except LostRace as failed:
            if failed.contract is not None:  # only the balance moved (others charged it): go again on it, unread
                contract = failed.contract
                backoff.progressed()
                backoff.wait()
                continue
            seq = contract.ledger_seq
            if isinstance(failed, StaleProfile):
                contract = ensure_latest_profile(tenant_id, contract, actor)
            else:
                backoff.wait()
                contract, run.calendar = contract_and_calendar(tenant_id, group_id)  # a month closed meanwhile: 409
            if contract is None:
                raise Conflict(f"group {group_id} has no contract: assign a profile before locking", "no_contract") from None
            still = sorted((s for s in dal_sessions.read_many(pending) if s.status == dal_sessions.TO_ACCOUNT),
                           key=dal_locks.order_key)
            if len(still) < len(pending) or contract.ledger_seq != seq:
                backoff.progressed()  # others locked some of these, or charged the balance: no livelock
            pending = still
            continue
        run.add(done)
        if job is not None:
            jobs.committed(job, run.state(), run.locked)
        done_ids = {session.session_id for session in done.sessions}  # all of the chunk, or the oldest (shared room)
        pending = [session for session in pending[:size] if session.session_id not in done_ids] + pending[size:]
    return contract
