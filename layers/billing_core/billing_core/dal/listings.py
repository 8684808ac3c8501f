"""Lists read from GSI1 (a tenant's groups, profiles and tokens, a group's computers, a
profile's contracts) answer exactly what the table holds, though the index lags: DynamoDB's
global secondary indexes are eventually consistent, so a group created a moment ago may not be
listed yet, or a rename not shown.

Every write that changes a list puts the list's stamp (its index key, `CHANGED`, the instant) in
its own transaction. A read of the list reads the stamp first, strongly consistent: a list
changed less than the settle time ago is read once that time has passed (within the time the
invocation has left). A list nobody changed lately costs one GetItem more and no wait."""
from datetime import datetime
from typing import Callable

from pynamodb.attributes import UTCDateTimeAttribute

from .. import deadline, fields
from . import store
from .models import BillingItem

STAMP = "CHANGED"


class ListStamp(BillingItem, discriminator="list_stamp"):
    changed_at = UTCDateTimeAttribute()


def _stamps(*list_keys: str | None) -> Callable:
    """What a write adds to its transaction to stamp the lists it changes (None: no list). The
    instant is taken once, when the write is built: retries send the same content."""
    at = fields.utc_now()
    stamps = [ListStamp(key, STAMP, changed_at=at) for key in dict.fromkeys(list_keys) if key]

    def add(transaction) -> None:
        for stamp in stamps:
            transaction.save(stamp)
    return add


def transact(fill: Callable, what: str, *list_keys: str | None) -> None:
    """`store.transact` of a write that changes lists: `fill` builds the write, the lists' stamps
    follow it (so a failed condition keeps the position `fill` gave it)."""
    stamp = _stamps(*list_keys)

    def stamped(transaction) -> None:
        fill(transaction)
        stamp(transaction)
    store.transact(stamped, what)


def changed_at(list_key: str) -> datetime | None:
    stamp = store.get(ListStamp, list_key, STAMP)
    return stamp.changed_at if stamp is not None else None


def settled(list_key: str, wait_at_most_the_time_left: bool = False) -> None:
    """Returns once the index shows every change of the list written before this call (or, when
    asked, once the time left is spent: the caller copes with a list that may lag)."""
    deadline.settle(changed_at(list_key), "the list", at_most_the_time_left=wait_at_most_the_time_left)
