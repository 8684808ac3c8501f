"""Recording sessions in the table: where an upload is booked (its computer's group), the groups
and contracts it is priced by, and the conditional puts that record each session exactly once,
with its history entry and the running totals' open marks in the same transaction."""
from datetime import datetime
from typing import Iterable

from .. import fields
from . import periods, store, totals
from .models import BillingItem, Computer, Contract, Group, HistoryEntry, Session, keys

TO_ACCOUNT = "to_account"


def new_session(tenant_id: str, *, session_id: str, group_id: str, computer_id: str, technician: str, started_at: datetime,
                ended_at: datetime, connection_seconds: int, notes: str, fingerprint: str, recorded_at: datetime,
                recorded_by: str | None) -> Session:
    """A session as recording writes it: in its group's index of sessions (GSI1) and in the
    sparse index of open sessions (GSI2), which its lock leaves."""
    sort_key = f"{fields.sortable_utc(started_at)}#{session_id}"
    return Session(
        keys.session(tenant_id, session_id), "SESSION",
        GSI1PK=keys.sessions_of(tenant_id, group_id), GSI1SK=sort_key,
        GSI2PK=keys.open_sessions_of(tenant_id, group_id), GSI2SK=sort_key,
        session_id=session_id, group_id=group_id, computer_id=computer_id, technician=technician,
        started_at=started_at, ended_at=ended_at, connection_seconds=connection_seconds, extra_minutes=0,
        notes=notes, status=TO_ACCOUNT, upload_fingerprint=fingerprint, recorded_at=recorded_at,
        recorded_by=recorded_by or None, revision=1,
    )


def computers_groups(tenant_id: str, computer_ids: Iterable[str]) -> dict[str, str]:
    """The group each known computer is in (one BatchGetItem per 100)."""
    found = store.batch_get({(keys.computer(tenant_id, c), "COMPUTER") for c in computer_ids})
    return {item.computer_id: item.group_id for item in found.values() if isinstance(item, Computer)}


def groups_and_contracts(tenant_id: str, group_ids: Iterable[str]) -> tuple[set[str], dict[str, Contract | None]]:
    """Which of the groups exist, and their current contracts (one BatchGetItem per 50 groups)."""
    known, contracts, _ = booking(tenant_id, group_ids, calendar=False)
    return known, contracts


def booking(tenant_id: str, group_ids: Iterable[str], calendar: bool = True):
    """Which of the groups exist, their current contracts and the tenant's calendar
    (dal.periods), read together (one BatchGetItem per 50 groups)."""
    wanted = set(group_ids)
    extra = {periods.calendar_key(tenant_id)} if calendar else set()
    found = store.batch_get({(keys.group(tenant_id, g), sk) for g in wanted for sk in ("GROUP", "CONTRACT")} | extra)
    known = {g for g in wanted if isinstance(found.get((keys.group(tenant_id, g), "GROUP")), Group)}
    contracts = {}
    for group_id in wanted:
        contract = found.get((keys.group(tenant_id, group_id), "CONTRACT"))
        contracts[group_id] = contract if isinstance(contract, Contract) else None
    return known, contracts, periods.calendar_in(found, tenant_id)


def record_new(tenant_id: str, sessions: list[Session], entries: dict[str, HistoryEntry],
               months: dict[str, str] | None = None) -> dict[str, Session | None]:
    """Writes the sessions that do not exist yet, each with its history entry (`entries` by the
    session's key), and their open marks, in one transaction per attempt. Answers by session id
    None (written) or the session already stored under that id (a replay or a conflict: the
    caller compares). A duplicate cancels the transaction; DynamoDB hands back the stored item
    (ALL_OLD), and the others are written again without it. The transaction holds that the
    sessions' `months` (by session key) are open: `periods.PeriodClosed` when one closed meanwhile."""
    outcome: dict[str, Session | None] = {}
    pending = list(sessions)
    while pending:
        def fill(transaction, writing=tuple(pending)):
            for session in writing:
                transaction.save(session, condition=Session.PK.does_not_exist(), return_values="ALL_OLD")
                transaction.save(entries[session.PK])
            for item, actions in totals.record_updates(tenant_id, list(writing)):
                transaction.update(item, actions=actions)
            checks[:] = periods.add_open_checks(transaction, tenant_id, _months(writing, months))

        checks: list[int] = []
        try:
            store.transact(fill, "the recording")
        except store.ConditionFailed as failed:
            closed = periods.closed_in(failed, checks, _months(pending, months))
            if closed:
                raise periods.PeriodClosed(closed) from None
            stored = _stored_duplicates(pending, failed.reasons)
            if not stored:
                raise
            for session in pending:
                if session.PK in stored:
                    outcome[session.session_id] = stored[session.PK]
            pending = [session for session in pending if session.PK not in stored]
            continue
        outcome.update((session.session_id, None) for session in pending)
        pending = []
    return outcome


def _months(sessions, months: dict[str, str] | None) -> set[str]:
    return {months[s.PK] for s in sessions if s.PK in months} if months else set()


def _stored_duplicates(pending: list[Session], reasons: list) -> dict[str, Session]:
    """The sessions that already exist, by key: from the cancellation reasons (two actions per
    session, the put first, then the running totals' updates), or, where a reason carries no
    item, read back."""
    stored: dict[str, Session] = {}
    unexplained = []
    explained = len(reasons) >= 2 * len(pending)
    for position, session in enumerate(pending):
        reason = reasons[2 * position] if explained else None
        if reason is not None and reason.code == "ConditionalCheckFailed" and reason.raw_item:
            stored[session.PK] = BillingItem.from_raw_data(reason.raw_item)
        elif reason is None and explained:
            continue  # this put did not fail: it is written on the next attempt
        else:
            unexplained.append((session.PK, session.SK))
    for item in store.batch_get(unexplained).values():
        if isinstance(item, Session):
            stored[item.PK] = item
    return stored


def sessions_by_id(tenant_id: str, session_ids: Iterable[str]) -> dict[str, Session]:
    """Sessions by id (strongly consistent; one BatchGetItem per 100)."""
    found = store.batch_get({(keys.session(tenant_id, s), "SESSION") for s in session_ids})
    return {item.session_id: item for item in found.values() if isinstance(item, Session)}
