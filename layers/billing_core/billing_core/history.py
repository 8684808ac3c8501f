"""The audit history: an append-only entry for every change to a session or a contract, written
in the same transaction as the change itself. Entries share their subject's partition, so one
Query reads a subject and its whole history.

A lock is the one change not kept as a separate entry: the lock freezes the session item itself
(who, when, the price and the profile version), and a locked session can never be written again,
so the item is the entry. This keeps lock-all at 99 sessions per transaction."""
import secrets
from datetime import datetime

from . import fields, jsonio
from .dal import store as storage
from .dal.models import BillingItem, HistoryEntry

RECORDED, ADJUSTED, LOCKED = "recorded", "adjusted", "locked"
ASSIGNED, RECHARGED, PROFILE_UPDATED = "contract_assigned", "recharged", "profile_version_applied"
PREFIX = "HISTORY#"


def entry(partition: str, actor: str | None, action: str, changes: dict, at: datetime | None = None) -> HistoryEntry:
    at = at or fields.utc_now()
    return HistoryEntry(
        partition,
        f"{PREFIX}{fields.sortable_utc(at)}#{secrets.token_hex(4)}",
        at=at,
        actor=actor or None,
        action=action,
        changes=jsonio.dumps(changes),
    )


def change(before, after) -> dict:
    return {"before": before, "after": after}


def view(at: datetime, actor: str | None, action: str, changes: dict) -> dict:
    """An entry as answered: the actor "<role>:<token_id>" told apart."""
    role, _, token_id = (actor or "").partition(":")
    return {"at": fields.utc_text(at), "actor": token_id or None, "role": role or None, "action": action, "changes": changes}


def entry_view(item: HistoryEntry) -> dict:
    return view(item.at, item.actor, item.action, jsonio.parse_object(item.changes, "changes"))


def read(partition: str) -> tuple[list[dict], list[BillingItem]]:
    """One Query of a partition: its entries (oldest first) and the items they are about."""
    entries, subjects = [], []
    for item in storage.query(BillingItem, partition, consistent_read=True):
        if isinstance(item, HistoryEntry):
            entries.append(entry_view(item))
        else:
            subjects.append(item)
    return entries, subjects
