"""Upgrading data written before SPEC §9: the sparse index of open sessions and the running totals
(DayTotal items) exist only for what this version wrote. The backfill brings older data to the
same state, safe while traffic flows, idempotent and re-runnable:

- Open-session index: each `to_account` session without the GSI2 keys gets them, on condition
  that it is still `to_account` and still without them (a lock racing the backfill wins; a locked
  session is never put back in the index).
- Running totals, reconciled per group and UTC day: the day's DayTotals are read (strongly
  consistent), then the day's accounted sessions, and the figures recomputed from them exactly as
  the locks add them (`locking._day_totals`). A day that differs is written in one transaction,
  conditioned on its DayTotals being still exactly as read (or still absent): a lock that commits
  meanwhile changes them, the write fails, and the day is read again. So a lock is never lost nor
  counted twice, whether it came before, during or after the backfill, and a second run finds
  every day right. `check` only reports (drifted days: a DayTotal that existed and differed).

Which sessions a day holds comes from GSI1 (eventually consistent); those it shows `to_account`
are read again by key, strongly consistent, after the DayTotals (an accounted session never
changes again). A session recorded and locked within the index's propagation delay before the
day is read may be missed: the next run (or `check`) finds and repairs that day."""
import random
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable
from decimal import Decimal

from .dal import store as storage
from .errors import NotFound
from .dal.models import DayTotal, Group, Session, Tenant, keys
from .sessions import ACCOUNTED, TO_ACCOUNT

MAX_ATTEMPTS = 6  # a day whose DayTotals change this many times in a row is reported as moving
INDEX_CHUNK = 100  # sessions per index transaction (DynamoDB's limit)
FIGURES = ("sessions", "total_seconds", "billed_minutes", "cost")
_DAY_ROW = ("PK", "SK", "status", "GSI2PK", "started_at", "total_seconds", "billed_minutes", "cost", "currency")


@dataclass
class Report:
    """What a run found and did. Under `check` nothing is written: `days_written` and
    `sessions_indexed` stay 0 and the `*_wrong`/`sessions_unindexed` figures say what a run would do."""

    check: bool = False
    tenants: int = 0
    groups: int = 0
    sessions_unindexed: int = 0  # found to_account without the GSI2 keys
    sessions_indexed: int = 0
    days_checked: int = 0
    days_right: int = 0
    days_missing: int = 0  # accounted sessions, no DayTotal at all: data of the previous version
    days_drifted: list[str] = field(default_factory=list)  # "<tenant>/<group>/<day>": a DayTotal existed and differed
    days_written: int = 0
    days_moving: list[str] = field(default_factory=list)  # kept changing under the backfill: run it again

    @property
    def needs_writing(self) -> bool:
        """What `check` found that a run would write."""
        return bool(self.sessions_unindexed > self.sessions_indexed or self.days_missing + len(self.days_drifted) > self.days_written)

    def view(self) -> dict:
        return {"check": self.check, "tenants": self.tenants, "groups": self.groups,
                "sessions_unindexed": self.sessions_unindexed, "sessions_indexed": self.sessions_indexed,
                "days_checked": self.days_checked, "days_right": self.days_right, "days_missing": self.days_missing,
                "days_drifted": len(self.days_drifted), "days_written": self.days_written,
                "days_moving": len(self.days_moving), "drifted": self.days_drifted, "moving": self.days_moving}


# ---------------------------------------------------------------- reading


def known_tenant(tenant_id: str) -> str:
    if storage.get(Tenant, keys.tenant(tenant_id), "TENANT") is None:
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant_id


def group_ids(tenant_id: str) -> list[str]:
    return [group.group_id for group in storage.query(Group, keys.groups(tenant_id), index="gsi1")]


def _day_bounds(day: str) -> tuple[str, str]:
    """The GSI1SK/GSI2SK range of the sessions that started on `day` (UTC): "<day>T…#<id>"."""
    return f"{day}T", f"{day}T~"


def next_session_day(tenant_id: str, group_id: str, after: str | None) -> str | None:
    """The first UTC day after `after` on which a session of the group started (one item read)."""
    condition = Session.GSI1SK > _day_bounds(after)[1] if after else None
    for session in storage.query(Session, keys.sessions_of(tenant_id, group_id), index="gsi1",
                                 range_key_condition=condition, limit=1, page_size=1):
        return session.GSI1SK[:10]
    return None


def total_days(tenant_id: str, group_id: str) -> list[str]:
    """The days that have a DayTotal (in any currency)."""
    rows = storage.raw_query(keys.day_totals_of(tenant_id, group_id), "0", "9", ("day",), consistent=True)
    return sorted({row["day"]["S"] for row in rows})


@dataclass
class Stored:
    """One DayTotal as read: its figures, None where the attribute is absent."""

    sessions: int | None
    total_seconds: int | None
    billed_minutes: int | None
    cost: Decimal | None

    def condition(self):
        """The DayTotal's figures are still exactly these."""
        condition = DayTotal.PK.exists()
        for name in FIGURES:
            value, attribute = getattr(self, name), getattr(DayTotal, name)
            condition &= attribute.does_not_exist() if value is None else attribute == value
        return condition


@dataclass
class Counted:
    """What the locks of one day and currency add, recomputed from the accounted sessions."""

    sessions: int = 0
    total_seconds: int = 0
    billed_minutes: int = 0
    cost: Decimal | None = None

    def add(self, total_seconds: int, billed_minutes: int, cost: Decimal | None) -> None:
        self.sessions += 1
        self.total_seconds += total_seconds
        self.billed_minutes += billed_minutes
        if cost is not None:  # as `locking._day_totals`: the cost exists once a session had one
            self.cost = (self.cost or Decimal("0.00")) + cost

    def matches(self, stored: Stored | None) -> bool:
        return stored is not None and all(getattr(self, name) == getattr(stored, name) for name in FIGURES)


def day_totals(tenant_id: str, group_id: str, day: str) -> dict[str, Stored]:
    """The DayTotals of one day by currency, strongly consistent (read before the sessions)."""
    stored = {}
    for row in storage.raw_query(keys.day_totals_of(tenant_id, group_id), f"{day}#", f"{day}#~",
                                 ("currency", *FIGURES), consistent=True):
        number = {name: row[name]["N"] if name in row else None for name in FIGURES}
        stored[row["currency"]["S"]] = Stored(
            *(None if number[name] is None else int(number[name]) for name in FIGURES[:3]),
            None if number["cost"] is None else Decimal(number["cost"]))
    return stored


@dataclass
class DaySessions:
    counted: dict[str, Counted]  # by currency
    unindexed: list[Session]  # to_account without the GSI2 keys, as read by key


def day_sessions(tenant_id: str, group_id: str, day: str) -> DaySessions:
    """The day's sessions (GSI1), those it shows open read again by key (strongly consistent):
    the accounted figures by currency, and the open sessions missing from the open index."""
    counted: dict[str, Counted] = {}
    open_keys = []
    low, high = _day_bounds(day)
    for row in storage.raw_query(keys.sessions_of(tenant_id, group_id), low, high, _DAY_ROW, index="GSI1"):
        if row["status"]["S"] == ACCOUNTED:
            _count(counted, row["currency"]["S"], int(row["total_seconds"]["N"]), int(row["billed_minutes"]["N"]),
                   Decimal(row["cost"]["N"]) if "cost" in row else None)
        else:
            open_keys.append((row["PK"]["S"], row["SK"]["S"]))
    unindexed = []
    for session in storage.batch_get(open_keys).values():
        if not isinstance(session, Session):
            continue
        if session.status == ACCOUNTED:  # locked since the index answered
            _count(counted, session.currency, session.total_seconds, session.billed_minutes, session.cost)
        elif session.status == TO_ACCOUNT and session.GSI2PK is None:
            unindexed.append(session)
    return DaySessions(counted, sorted(unindexed, key=lambda s: s.GSI1SK))


def _count(counted: dict[str, Counted], currency: str, total_seconds: int, billed_minutes: int, cost) -> None:
    counted.setdefault(currency, Counted()).add(total_seconds, billed_minutes, cost)


# ---------------------------------------------------------------- writing


def write_day(tenant_id: str, group_id: str, day: str, stored: dict[str, Stored], counted: dict[str, Counted]) -> bool:
    """Puts the recomputed DayTotals of the currencies that differ (deletes one no session
    counts), all in one transaction conditioned on each being still as read. False: a lock (or
    another backfill) changed the day meanwhile."""
    partition = keys.day_totals_of(tenant_id, group_id)
    actions = []
    for currency in sorted(set(stored) | set(counted)):
        figures, before = counted.get(currency), stored.get(currency)
        if figures is not None and figures.matches(before):
            continue
        condition = DayTotal.PK.does_not_exist() if before is None else before.condition()
        item = DayTotal(partition, keys.day_total(day, currency), group_id=group_id, day=day, currency=currency)
        if figures is not None:
            for name in FIGURES:
                setattr(item, name, getattr(figures, name))
        actions.append(("save" if figures is not None else "delete", item, condition))
    if not actions:
        return True

    def fill(transaction):
        for kind, item, condition in actions:
            getattr(transaction, kind)(item, condition=condition)

    try:
        storage.transact(fill, "the day totals")
    except storage.ConditionFailed:
        return False
    return True


def index_open(tenant_id: str, group_id: str, sessions: list[Session]) -> int:
    """Puts open sessions in the sparse index, each only while it is still to_account and still
    out of it; answers how many were put (a session locked meanwhile is left out)."""
    indexed = 0
    partition = keys.open_sessions_of(tenant_id, group_id)
    for start in range(0, len(sessions), INDEX_CHUNK):
        pending = sessions[start:start + INDEX_CHUNK]
        while pending:
            def fill(transaction, writing=tuple(pending)):
                for session in writing:
                    transaction.update(session, actions=[Session.GSI2PK.set(partition), Session.GSI2SK.set(session.GSI1SK)],
                                       condition=(Session.status == TO_ACCOUNT) & Session.GSI2PK.does_not_exist())

            try:
                storage.transact(fill, "the open-session index")
            except storage.ConditionFailed as failed:
                pending = [s for n, s in enumerate(pending) if not failed.failed(n)]  # locked or indexed meanwhile
                continue
            indexed += len(pending)
            pending = []
    return indexed


# ---------------------------------------------------------------- the run


def reconcile_day(tenant_id: str, group_id: str, day: str, report: Report) -> None:
    """One day brought right: read DayTotals, then sessions, write what differs; again when a lock
    moved the day in between."""
    name = f"{tenant_id}/{group_id}/{day}"
    report.days_checked += 1
    for attempt in range(MAX_ATTEMPTS):
        stored = day_totals(tenant_id, group_id, day)
        found = day_sessions(tenant_id, group_id, day)
        wrong = [c for c in set(stored) | set(found.counted) if c not in found.counted or not found.counted[c].matches(stored.get(c))]
        if attempt == 0:
            report.sessions_unindexed += len(found.unindexed)
            if not wrong:
                report.days_right += 1
            elif stored:
                report.days_drifted.append(name)
            else:
                report.days_missing += 1
        if report.check:
            return
        if found.unindexed:
            report.sessions_indexed += index_open(tenant_id, group_id, found.unindexed)
        if not wrong:
            return
        if write_day(tenant_id, group_id, day, stored, found.counted):
            report.days_written += 1
            return
        time.sleep(random.uniform(0, 0.02 * 2**attempt))  # a lock moved the day: read it again
    report.days_moving.append(name)


def backfill_group(tenant_id: str, group_id: str, report: Report) -> None:
    """Every day of the group that has sessions or a DayTotal, oldest first (one day's sessions
    in memory at a time)."""
    report.groups += 1
    with_totals = total_days(tenant_id, group_id)
    after = None
    while True:
        candidates = [d for d in (next_session_day(tenant_id, group_id, after),
                                  next((d for d in with_totals if after is None or d > after), None)) if d]
        if not candidates:
            return
        after = min(candidates)
        reconcile_day(tenant_id, group_id, after, report)


def backfill(tenant_ids: Iterable[str], group_id: str | None = None, check: bool = False,
             progress: Callable[[str, str, Report], None] | None = None) -> Report:
    """The upgrade of the tenants' data (of one group with `group_id`); `check` writes nothing.
    `progress` is told each group done (an interrupted run is resumed by running it again). No
    index lists every tenant and the functions never Scan: the command finds them
    (billing_local.backfill)."""
    report = Report(check=check)
    for tenant in tenant_ids:
        known_tenant(tenant)
        report.tenants += 1
        for group in [group_id] if group_id else group_ids(tenant):
            backfill_group(tenant, group, report)
            if progress:
                progress(tenant, group, report)
    return report
