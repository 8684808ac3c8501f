"""What the backfill (billing_core.backfill) reads and writes: a group's months, the sessions of
one month, its MonthTotal, and the conditional writes that bring older data to this version's
state without ever losing or doubling what a lock or a recording writes meanwhile."""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from pynamodb.attributes import UTCDateTimeAttribute
from pynamodb.expressions.operand import Path

from . import reports, store
from .models import Group, Session, Tenant, keys
from .totals import FIGURES, OPEN, GroupMonths, MonthTotal, Row, month_partition, month_row, months_key, parse_row

INDEX_CHUNK = 100  # sessions per index transaction (DynamoDB's limit)
_ROW = ("PK", "SK", "GSI1SK", "status", "GSI2PK", "recorded_at", "total_seconds", "billed_minutes", "cost", "currency")
_UTC = UTCDateTimeAttribute()


def tenant_exists(tenant_id: str) -> bool:
    return store.get(Tenant, keys.tenant(tenant_id), "TENANT") is not None


def group_ids(tenant_id: str) -> list[str]:
    return [group.group_id for group in store.query(Group, keys.groups(tenant_id), index="gsi1")]


def session_months(tenant_id: str, group_id: str) -> set[str]:
    """The months in which the group's sessions started (from its index of sessions: the keys
    only), with those its running totals already know."""
    months = {item["GSI1SK"]["S"][:7] for item in store.raw_query(keys.sessions_of(tenant_id, group_id), "0", "9", ("GSI1SK",),
                                                                     index="GSI1")}
    return months | reports.group_reads(tenant_id, group_id).months


@dataclass
class Stored:
    row: Row | None  # None: no MonthTotal yet
    rev: int


def month_total(tenant_id: str, group_id: str, month: str) -> Stored:
    """The group's MonthTotal of `month`, strongly consistent (read before the sessions)."""
    found = reports.raw_batch_get([(month_partition(tenant_id, month), month_row(group_id))])
    item = next(iter(found.values()), None)
    return Stored(None, 0) if item is None else Stored(parse_row(item), int(item.get("rev", {"N": "0"})["N"]))


@dataclass
class Fact:
    """One session of the month as the backfill counts it."""

    session_id: str
    sort_key: str  # in the indexes: "<started_at>#<session_id>"
    day: str  # dd
    status: str
    indexed: bool  # in the sparse index of open sessions
    recorded_at: datetime | None
    currency: str | None = None
    figures: tuple = ()  # (total_seconds, billed_minutes, cost) once accounted


def month_sessions(tenant_id: str, group_id: str, month: str) -> list[Fact]:
    """The month's sessions (the group's index of sessions), those it shows open read again by
    key, strongly consistent: a session locked since the index answered is counted accounted."""
    facts, shown_open = [], []
    for item in store.raw_query(keys.sessions_of(tenant_id, group_id), f"{month}-", f"{month}-~", _ROW, index="GSI1"):
        if item["status"]["S"] == "accounted":
            facts.append(_fact(item))
        else:
            shown_open.append((item["PK"]["S"], item["SK"]["S"]))
    for item in reports.raw_batch_get(shown_open, _ROW).values():
        facts.append(_fact(item))
    return facts


def _fact(item: dict) -> Fact:
    sort_key = item["GSI1SK"]["S"]
    recorded = item.get("recorded_at")
    fact = Fact(sort_key.split("#", 1)[1], sort_key, sort_key[8:10], item["status"]["S"], "GSI2PK" in item,
                _UTC.deserialize(recorded["S"]) if recorded else None)
    if fact.status == "accounted":
        cost = item.get("cost")
        fact.currency = item["currency"]["S"]
        fact.figures = (int(item["total_seconds"]["N"]), int(item["billed_minutes"]["N"]), Decimal(cost["N"]) if cost else None)
    return fact


def _names(row: Row) -> dict[str, str]:
    """A MonthTotal's day attributes and their values (as DynamoDB numbers)."""
    names = {f"{OPEN}{dd}": str(value) for dd, value in row.open.items() if value}
    for dd, by_currency in row.accounted.items():
        for currency, figures in by_currency.items():
            for letter, value in zip(FIGURES, figures.key()):
                if value is not None:
                    names[f"{letter}{dd}{currency}"] = str(value)
    return names


def write_month(tenant_id: str, group_id: str, month: str, row: Row, read: Stored) -> bool:
    """Writes the recomputed MonthTotal, on condition that it is still as read (same `rev`, or
    still absent), and adds the month to the group's months. False: a lock or a recording changed
    it meanwhile (read it again)."""
    item = MonthTotal(month_partition(tenant_id, month), month_row(group_id))
    wanted = _names(row)
    actions = [MonthTotal.kind.set(MonthTotal), MonthTotal.group_id.set(group_id), MonthTotal.month.set(month),
               MonthTotal.rev.set(read.rev + 1)]
    actions += [Path([name]).set({"N": value}) for name, value in sorted(wanted.items())]
    actions += [Path([name]).remove() for name in sorted(set(_names(read.row)) - set(wanted))] if read.row else []
    condition = MonthTotal.PK.does_not_exist() if read.row is None else MonthTotal.rev == read.rev

    def fill(transaction):
        transaction.update(item, actions=actions, condition=condition)
        transaction.update(GroupMonths(*months_key(tenant_id, group_id)),
                           actions=[GroupMonths.kind.set(GroupMonths), GroupMonths.group_id.set(group_id),
                                    GroupMonths.months.add({month})])

    try:
        store.transact(fill, "the running totals")
    except store.ConditionFailed:
        return False
    return True


def index_open(tenant_id: str, group_id: str, sessions: list[Fact]) -> int:
    """Puts open sessions in the sparse index, each only while it is still to_account and still
    out of it; answers how many were put (a session locked meanwhile is left out)."""
    indexed = 0
    partition = keys.open_sessions_of(tenant_id, group_id)
    for start in range(0, len(sessions), INDEX_CHUNK):
        pending = sessions[start:start + INDEX_CHUNK]
        while pending:
            def fill(transaction, writing=tuple(pending)):
                for fact in writing:
                    transaction.update(Session(keys.session(tenant_id, fact.session_id), "SESSION"),
                                       actions=[Session.GSI2PK.set(partition), Session.GSI2SK.set(fact.sort_key)],
                                       condition=(Session.status == "to_account") & Session.GSI2PK.does_not_exist())

            try:
                store.transact(fill, "the open-session index")
            except store.ConditionFailed as failed:
                pending = [s for n, s in enumerate(pending) if not failed.failed(n)]  # locked or indexed meanwhile
                continue
            indexed += len(pending)
            pending = []
    return indexed
