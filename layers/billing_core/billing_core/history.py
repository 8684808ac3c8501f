"""The audit history: an append-only entry for every change to a session or a contract, written
in the same transaction as the change itself. Entries share their subject's partition, so one
Query reads a subject and its whole history.

A lock is the one change not kept as a separate entry: the lock freezes the session item itself
(who, when, the price and the profile version), and a locked session can never be written again,
so the item is the entry. This keeps lock-all at 99 sessions per transaction."""
from datetime import datetime

from . import actors, fields, jsonio
from .dal import history as stored

RECORDED, ADJUSTED, LOCKED = "recorded", "adjusted", "locked"
ASSIGNED, RECHARGED, PROFILE_UPDATED = "contract_assigned", "recharged", "profile_version_applied"
PREFIX = stored.PREFIX


def entry(partition: str, actor: str | None, action: str, changes: dict, at: datetime | None = None):
    """A new entry of the subject in `partition`, to be written in the transaction of its change."""
    return stored.entry(partition, actor, action, jsonio.dumps(changes), at or fields.utc_now())


def change(before, after) -> dict:
    return {"before": before, "after": after}


def view(at: datetime, actor: str | None, action: str, changes: dict) -> dict:
    """An entry as answered: its actor `{kind, id, name}` (billing_core.actors) and role told apart."""
    who, role = actors.view(actor)
    return {"at": fields.utc_text(at), "actor": who, "role": role, "action": action, "changes": changes}


def entry_view(item) -> dict:
    return view(item.at, item.actor, item.action, jsonio.parse_object(item.changes, "changes"))


def read(partition: str) -> tuple[list[dict], list]:
    """One Query of a partition: its entries (oldest first, as answered) and the items they are about."""
    entries, subjects = stored.read(partition)
    return [entry_view(item) for item in entries], subjects
