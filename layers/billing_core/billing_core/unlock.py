"""Unlock: a session locked by mistake goes back to `to_account`, while no issued invoice holds it
and its month is open. Everything the lock did is reversed in one transaction
(billing_core.dal.unlock): the frozen price, the running totals, and for a subscription the
balance: the minutes the balance covered come back as a block (kind `reversal`, the lock's
overrun and overage taken back), written as a `reversal` ledger entry, and the alert thresholds
the balance is back above are re-armed. Audited in the session's history."""

from . import contract_views, fields, history, ledger, periods
from .dal import contracts as dal_contracts
from .dal import store
from .dal import unlock as dal
from .dal.invoices import ISSUED
from .dal.marks import session_mark
from .errors import Conflict
from .ledger import Block, Change
from .sessions import lock_changes, read_session, session_view

UNLOCKED, REVERSAL = "unlocked", "reversal"


def reversed_balance(balance: ledger.Balance, session, at, thresholds) -> tuple[ledger.Balance, Change]:
    """The balance as if the session's lock had not been: its covered minutes (and the overrun a
    later recharge settled) back as a block, its overrun and overage taken back."""
    covered, overage = int(session.covered_minutes or 0), int(session.overage_minutes or 0)
    overrun = int(session.billed_minutes) - covered - overage
    still_open = min(overrun, balance.overrun_minutes)  # the part of its overrun no recharge settled yet
    back = covered + overrun - still_open
    blocks = balance.blocks
    if back:
        blocks += (Block(f"rev-{session.session_id}-{fields.sortable_utc(at)}", REVERSAL, back, back, at),)
    after = balance.replace(blocks=blocks, used_minutes=balance.used_minutes - covered - overrun,
                            overage_minutes=balance.overage_minutes - overage,
                            overrun_minutes=balance.overrun_minutes - still_open).rearm(thresholds, at)
    amount = -session.cost if overage and session.cost is not None else None
    return after, Change(REVERSAL, after.entered_minutes() - balance.entered_minutes(), at, amount=amount,
                         session_id=session.session_id)


def unlock_session(tenant_id: str, session_id: str, actor: str | None, claim=None) -> dict:
    backoff = store.Backoff("the unlock")
    while True:
        session = read_session(tenant_id, session_id)
        if session.status != "accounted":
            raise Conflict(f"session {session_id} is not locked", "not_locked")
        month, held = periods.ensure_open(tenant_id, session.started_at)
        mark = session_mark(tenant_id, session.group_id, session_id, session.started_at)
        if mark.status == ISSUED:
            raise Conflict(f"session {session_id} is on issued invoice {mark.invoice_id}: void it first", "session_invoiced")
        contract = contract_views.current_contract(tenant_id, session.group_id)
        if contract is None or contract.contract_id != session.contract_id:
            raise Conflict(f"session {session_id} was accounted under a contract that has ended: it stays locked", "contract_ended")
        now = fields.utc_now()
        balance_write = None
        before = contract_views.balance_of(contract)
        if before is not None:
            after, change = reversed_balance(before, session, now, getattr(contract.tariff, "alert_thresholds", ()))
            entries = dal_contracts.ledger_entries(tenant_id, contract, before, [change], actor)
            balance_write = lambda t, a=after, e=entries: dal_contracts.add_balance_update(t, contract, a, e)  # noqa: E731
        undone = {"status": history.change("accounted", "to_account"), "locked_at": history.change(fields.utc_text(session.locked_at), None),
                  "billed_minutes": history.change(int(session.billed_minutes), None),
                  "cost": history.change(fields.money_text(session.cost), None)}
        entries_kept = [history.entry(session.PK, session.locked_by, history.LOCKED, lock_changes(session), session.locked_at),
                        history.entry(session.PK, actor, UNLOCKED, undone, now)]  # the lock undone stays in the audit
        answer = session_view(dal.opened(session), contract)
        try:
            dal.unlock(tenant_id, session, held, contract, balance_write, entries_kept, mark, claim, answer)
            return answer
        except dal.PeriodClosed:
            raise Conflict(f"{month} was closed meanwhile: session {session_id} stays locked", "period_closed") from None
        except dal.Changed:
            backoff.wait()  # locked again, its balance or its page of marks changed (an issue?): read again


