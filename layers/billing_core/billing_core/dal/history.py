"""The audit history in the table: entries share their subject's partition (a session, a group,
a contract), so one strongly consistent Query reads a subject with its whole history."""
import secrets
from datetime import datetime

from .. import fields
from . import store
from .models import BillingItem, HistoryEntry

PREFIX = "HISTORY#"


def entry(partition: str, actor: str | None, action: str, changes: str, at: datetime) -> HistoryEntry:
    """A new entry (`changes` as JSON), to be written in the transaction of its change."""
    return HistoryEntry(partition, f"{PREFIX}{fields.sortable_utc(at)}#{secrets.token_hex(4)}", at=at, actor=actor or None,
                        action=action, changes=changes)


def read(partition: str) -> tuple[list[HistoryEntry], list[BillingItem]]:
    """One Query of a partition: its entries (oldest first) and the items they are about."""
    entries, subjects = [], []
    for item in store.query(BillingItem, partition, consistent_read=True):
        (entries if isinstance(item, HistoryEntry) else subjects).append(item)
    return entries, subjects
