"""Data access of closed periods, as every write dated in a month sees them.

- The tenant's **calendar** is its invoice settings item: the time zone its months are in and the
  set of its closed months (`closed_months`), kept by the close and the reopen in the same
  transaction as the month's own `Period` item. A write reads it with what it reads anyway (its
  key is added to the write's existing BatchGetItem: no round trip of its own).
- The write then holds, in its own transaction, a ConditionCheck on each of its months' `Period`
  item (absent or open): a close that commits between the read and the write fails the write,
  which changes nothing and reads again (then sees the month closed).
"""
from typing import Callable, Iterable

from . import store
from .invoices import InvoiceSettings, Period, periods_of, settings_key
from .models import Contract, Group, keys

Extra = Callable | None  # what else a write's transaction holds (dal.contracts' writes take one)


class PeriodClosed(Exception):
    """A month of the write was closed between its read and its transaction."""

    def __init__(self, months: list[str]):
        super().__init__(", ".join(months))
        self.months = months


def calendar_key(tenant_id: str) -> tuple[str, str]:
    return settings_key(tenant_id)


def calendar_in(found: dict, tenant_id: str) -> InvoiceSettings | None:
    """The calendar among the items of a BatchGetItem that asked for `calendar_key`."""
    item = found.get(calendar_key(tenant_id))
    return item if isinstance(item, InvoiceSettings) else None


def read_calendar(tenant_id: str) -> InvoiceSettings | None:
    return store.get(InvoiceSettings, *calendar_key(tenant_id))


def group_contract_calendar(tenant_id: str, group_id: str) -> tuple[Group | None, Contract | None, InvoiceSettings | None]:
    """A group, its current contract and the tenant's calendar: one BatchGetItem."""
    partition = keys.group(tenant_id, group_id)
    found = store.batch_get([(partition, "GROUP"), (partition, "CONTRACT"), calendar_key(tenant_id)])
    group, contract = found.get((partition, "GROUP")), found.get((partition, "CONTRACT"))
    return (group if isinstance(group, Group) else None, contract if isinstance(contract, Contract) else None,
            calendar_in(found, tenant_id))


def contract_and_calendar(tenant_id: str, group_id: str) -> tuple[Contract | None, InvoiceSettings | None]:
    """A group's current contract and the tenant's calendar: one BatchGetItem."""
    partition = keys.group(tenant_id, group_id)
    found = store.batch_get([(partition, "CONTRACT"), calendar_key(tenant_id)])
    contract = found.get((partition, "CONTRACT"))
    return contract if isinstance(contract, Contract) else None, calendar_in(found, tenant_id)


def add_open_checks(transaction, tenant_id: str, months: Iterable[str]) -> list[int]:
    """A ConditionCheck per month that it is still open (its period absent or not closed);
    answers their positions in the transaction."""
    positions = []
    for month in sorted(set(months)):
        positions.append(len(transaction.added))
        transaction.condition_check(Period, periods_of(tenant_id), month,
                                    condition=Period.PK.does_not_exist() | (Period.closed == 0))
    return positions


def closed_in(failed: store.ConditionFailed, positions: list[int], months: Iterable[str]) -> list[str]:
    """The months whose check failed, of checks added at `positions` (in month order)."""
    return [month for position, month in zip(positions, sorted(set(months))) if failed.failed(position)]


def with_open_checks(tenant_id: str, months: Iterable[str], extra: Extra = None) -> Callable:
    """A write's `extra` (what else its transaction holds) with the checks that its months are
    still open; a failed check fails the write like any other changed condition."""
    months = sorted(set(months))

    def fill(transaction):
        add_open_checks(transaction, tenant_id, months)
        if extra:
            extra(transaction)

    return fill


def set_period(tenant_id: str, month: str, closed: bool, at, actor, audit) -> None:
    """Closes or reopens a month in one transaction: its period item, the calendar's set of closed
    months, the audit entry."""
    item = Period(periods_of(tenant_id), month, month=month, closed=int(closed), changed_at=at, changed_by=actor or None)
    calendar = InvoiceSettings(*calendar_key(tenant_id))
    change = InvoiceSettings.closed_months.add({month}) if closed else InvoiceSettings.closed_months.delete({month})
    actions = [change, InvoiceSettings.kind.set(InvoiceSettings), InvoiceSettings.values.set(InvoiceSettings.values | "{}")]

    def fill(transaction):
        transaction.save(item)
        transaction.update(calendar, actions=actions)
        transaction.save(audit)

    store.transact(fill, "the period")
