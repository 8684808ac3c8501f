"""Upgrading data written before this version: the sparse index of open sessions and the running
totals (one MonthTotal per tenant, UTC month and group, billing_core.dal.totals) exist only for
what this version wrote. The backfill brings older data to the same state, safe while traffic
flows, idempotent and re-runnable:

- Open-session index: each `to_account` session without the GSI2 keys gets them, on condition
  that it is still `to_account` and still without them (a lock racing the backfill wins; a locked
  session is never put back in the index).
- Running totals, reconciled per group and month: the MonthTotal is read (strongly consistent),
  then the month's sessions, and the item recomputed from them exactly as recordings and locks
  change it (the open sessions' marks, the accounted figures by day and currency). A month that
  differs is written on condition that its MonthTotal is still as read (its `rev`, bumped by
  every recording and lock, or still absent): a lock or a recording that commits meanwhile makes
  the write fail, and the month is read again. So nothing is lost nor counted twice, and a
  second run finds every month right. `check` only reports.

Which sessions a month holds comes from the group's index of sessions (GSI1, eventually
consistent); those it shows `to_account` are read again by key, strongly consistent. A session
recorded within the index's propagation delay may not be shown yet: a month whose MonthTotal
exists already (this version wrote to it) and that had a session recorded in the last
`SETTLE_SECONDS` is left for the next run (reported as moving) rather than written from a read
that may miss it."""
import random
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, Iterable

from . import fields
from .dal import upgrade
from .dal.totals import Figures, Row, mark
from .errors import NotFound

MAX_ATTEMPTS = 6  # a month whose MonthTotal changes this many times in a row is reported as moving
SETTLE_SECONDS = 60  # far beyond an index's usual propagation delay


@dataclass
class Report:
    """What a run found and did. Under `check` nothing is written: `months_written` and
    `sessions_indexed` stay 0 and the other figures say what a run would do."""

    check: bool = False
    tenants: int = 0
    groups: int = 0
    sessions_unindexed: int = 0  # found to_account without the GSI2 keys
    sessions_indexed: int = 0
    months_checked: int = 0
    months_right: int = 0
    months_missing: int = 0  # sessions, no MonthTotal at all: data of the previous version
    months_drifted: list[str] = field(default_factory=list)  # "<tenant>/<group>/<month>": a MonthTotal existed and differed
    months_written: int = 0
    months_moving: list[str] = field(default_factory=list)  # kept changing under the backfill: run it again

    @property
    def needs_writing(self) -> bool:
        """What `check` found that a run would write."""
        return bool(self.sessions_unindexed > self.sessions_indexed
                    or self.months_missing + len(self.months_drifted) > self.months_written)

    def view(self) -> dict:
        return {"check": self.check, "tenants": self.tenants, "groups": self.groups,
                "sessions_unindexed": self.sessions_unindexed, "sessions_indexed": self.sessions_indexed,
                "months_checked": self.months_checked, "months_right": self.months_right,
                "months_missing": self.months_missing, "months_drifted": len(self.months_drifted),
                "months_written": self.months_written, "months_moving": len(self.months_moving),
                "drifted": self.months_drifted, "moving": self.months_moving}


def known_tenant(tenant_id: str) -> str:
    if not upgrade.tenant_exists(tenant_id):
        raise NotFound(f"tenant {tenant_id} not found")
    return tenant_id


def recompute(facts: list[upgrade.Fact]) -> Row:
    """The MonthTotal the month's sessions make: open marks by day, accounted figures by day and
    currency, as recordings and locks add them."""
    row = Row()
    for fact in facts:
        if fact.status == "accounted":
            seconds, billed, cost = fact.figures
            row.accounted.setdefault(fact.day, {}).setdefault(fact.currency, Figures()).add(Figures(1, seconds, billed, cost))
        else:
            row.open[fact.day] = row.open.get(fact.day, 0) + mark(fact.session_id)
    return row


def same(stored: Row | None, counted: Row | None) -> bool:
    """Whether two MonthTotals hold the same figures (an absent one holds none)."""
    def held(row: Row | None) -> tuple:
        if row is None:
            return {}, {}
        return {d: v for d, v in row.open.items() if v}, {d: c for d, c in row.accounted.items() if c}

    return held(stored) == held(counted)


def reconcile_month(tenant_id: str, group_id: str, month: str, report: Report) -> None:
    """One month brought right: read its MonthTotal, then its sessions, write what differs; again
    when a lock or a recording moved it in between."""
    name = f"{tenant_id}/{group_id}/{month}"
    report.months_checked += 1
    for attempt in range(MAX_ATTEMPTS):
        stored = upgrade.month_total(tenant_id, group_id, month)
        facts = upgrade.month_sessions(tenant_id, group_id, month)
        counted = recompute(facts)
        right = same(stored.row, counted)
        unindexed = [f for f in facts if f.status == "to_account" and not f.indexed]
        if attempt == 0:
            report.sessions_unindexed += len(unindexed)
            if right:
                report.months_right += 1
            elif stored.row is not None:
                report.months_drifted.append(name)
            else:
                report.months_missing += 1
        if report.check:
            return
        if unindexed:
            report.sessions_indexed += upgrade.index_open(tenant_id, group_id, unindexed)
        if right:
            return
        settled = fields.utc_now() - timedelta(seconds=SETTLE_SECONDS)
        if stored.row is not None and any(f.recorded_at and f.recorded_at > settled for f in facts):
            break  # this version writes to it and a recording is recent: the index may not show it yet
        if upgrade.write_month(tenant_id, group_id, month, counted, stored):
            report.months_written += 1
            return
        time.sleep(random.uniform(0, 0.02 * 2**attempt))  # moved meanwhile: read it again
    report.months_moving.append(name)


def backfill_group(tenant_id: str, group_id: str, report: Report) -> None:
    """Every month of the group that has sessions or a MonthTotal, oldest first (one month's
    sessions in memory at a time)."""
    report.groups += 1
    for month in sorted(upgrade.session_months(tenant_id, group_id)):
        reconcile_month(tenant_id, group_id, month, report)


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
        for group in [group_id] if group_id else upgrade.group_ids(tenant):
            backfill_group(tenant, group, report)
            if progress:
                progress(tenant, group, report)
    return report
