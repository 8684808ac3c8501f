"""Data access of sessions: one session by id, a group's open (to_account) sessions from the
sparse index, and the one write a to_account session takes besides its lock (an adjustment)."""
from typing import Iterator

from . import store, totals
from .models import HistoryEntry, Session, keys
from .outcomes import LostRace

TO_ACCOUNT = "to_account"


def read(tenant_id: str, session_id: str) -> Session | None:
    return store.get(Session, keys.session(tenant_id, session_id), "SESSION")


def partition(tenant_id: str, session_id: str) -> str:
    """The session's partition: the session and its history entries."""
    return keys.session(tenant_id, session_id)


def read_many(sessions: list[Session]) -> list[Session]:
    """The sessions as they are now (strongly consistent), whatever they were when read."""
    found = store.batch_get([(s.PK, s.SK) for s in sessions])
    return [found[(s.PK, s.SK)] for s in sessions if (s.PK, s.SK) in found]


def open_sessions(tenant_id: str, group_id: str) -> Iterator[Session]:
    """A group's to_account sessions, oldest first, from the sparse index (eventually
    consistent: a session recorded a moment ago may not be in it yet)."""
    return store.query(Session, keys.open_sessions_of(tenant_id, group_id), index="gsi2",
                       filter_condition=Session.status == TO_ACCOUNT)


def adjust_session(tenant_id: str, session: Session, wanted: dict, entry: HistoryEntry, months: list[str]) -> None:
    """Sets `wanted` (extra_minutes, notes) with its history entry, only over the session as read,
    while it is to_account and its `months` are open (its month stamped: a search settles past
    it). `LostRace`: locked, adjusted or its month closed meanwhile."""
    from .periods import add_open_checks  # with the invoicing items: not for the reads of sessions (exports)

    def fill(transaction):
        transaction.update(
            session,
            actions=[getattr(Session, name).set(value) for name, value in wanted.items()] + [Session.revision.add(1)],
            condition=(Session.status == TO_ACCOUNT) & (Session.revision == session.revision),
        )
        transaction.save(entry)
        transaction.update(*totals.touch_update(tenant_id, session))
        add_open_checks(transaction, tenant_id, months)

    try:
        store.transact(fill, "the adjustment")
    except store.ConditionFailed:
        raise LostRace() from None
    for name, value in wanted.items():
        setattr(session, name, value)
    session.revision += 1
