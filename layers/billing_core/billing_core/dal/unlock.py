"""The unlock's one transaction: the session back to `to_account` (its frozen price removed, back in
the open sessions' index), its day's running totals given back what the lock added (and its open mark), the
subscription balance given back with its `reversal` ledger entry, the session's invoiced mark
set `unlocked` with the lock it undid (on its page of marks, over the version read: no issue
slipped in meanwhile), the audit entry, the idempotency answer."""
from . import store
from .invoices import UNLOCKED
from .marks import SessionMark
from .periods import add_open_checks
from . import totals
from .models import Contract, Session, keys

FROZEN = ("locked_at", "locked_by", "total_seconds", "billed_minutes", "cost", "currency", "profile_id", "profile_version",
          "contract_id", "covered_minutes", "overage_minutes", "pricing")


class Changed(Exception):
    """The session, its contract or its balance changed since they were read."""


class PeriodClosed(Exception):
    """The session's month was closed meanwhile."""


def unlock(tenant_id: str, session: Session, months: list[str], contract: Contract | None, balance_write, history_entries,
           mark: SessionMark, claim=None, answer=None) -> None:
    """`balance_write(transaction)` adds the balance's new state and entries (subscriptions), else
    None; `mark` is the session's mark as read (no issued invoice holds it)."""
    mark.pages.set(mark.page, f"S#{session.session_id}", UNLOCKED, mark.invoice_id, store_time(session.locked_at))
    reductions = totals.unlock_updates(tenant_id, session)

    def fill(transaction):
        transaction.update(
            session,
            actions=[getattr(Session, name).remove() for name in FROZEN]
            + [Session.status.set("to_account"), Session.revision.add(1),
               Session.GSI2PK.set(keys.open_sessions_of(tenant_id, session.group_id)), Session.GSI2SK.set(session.GSI1SK)],
            condition=(Session.status == "accounted") & (Session.revision == session.revision),
        )
        mark.pages.add_writes(transaction)
        add_open_checks(transaction, tenant_id, months)
        for item, actions in reductions:
            transaction.update(item, actions=actions)
        if balance_write is not None:
            balance_write(transaction)
        elif contract is not None:
            transaction.condition_check(Contract, contract.PK, contract.SK, condition=Contract.revision == contract.revision)
        for entry in history_entries:
            transaction.save(entry)
        if claim:
            claim.save(transaction, answer)

    try:
        store.transact(fill, "the unlock")
    except store.ConditionFailed as failed:
        if failed.failed(2):
            raise PeriodClosed() from None
        raise Changed() from None


def opened(session: Session) -> Session:
    """The session as the unlock leaves it (for the answer)."""
    copy = Session.from_raw_data(session.serialize())
    for name in FROZEN:
        setattr(copy, name, None)
    copy.status = "to_account"
    return copy


def store_time(moment) -> str:
    from ..fields import sortable_utc

    return sortable_utc(moment)
